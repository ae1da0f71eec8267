// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  if (window.jalaliDatepicker) {
    window.jalaliDatepicker.startWatch({ time: false, persianDigits: document.documentElement.lang === "fa" });
  }
});
