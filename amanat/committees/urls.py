from django.urls import path

from amanat.committees import views

app_name = "committees"
urlpatterns = [
    path("", views.committee_list, name="list"),
    path("bulk-create/", views.committees_bulk_create, name="bulk-create"),
    path("instructions/new/", views.instruction_create, name="instruction-create"),
    path("<int:committee_id>/", views.committee_detail, name="detail"),
    path("<int:committee_id>/members/", views.member_add, name="member-add"),
    path("members/<int:member_id>/remove/", views.member_remove, name="member-remove"),
    path("<int:committee_id>/terms/", views.terms, name="terms"),
    path("<int:committee_id>/cadence/", views.cadence, name="cadence"),
    path("<int:committee_id>/calendar/", views.calendar, name="calendar"),
    path("<int:committee_id>/calendar.ics", views.calendar_ics, name="calendar-ics"),
    path("<int:committee_id>/meetings/new/", views.meeting_create, name="meeting-create"),
    path("meetings/<int:meeting_id>/", views.meeting_detail, name="meeting"),
    path("meetings/<int:meeting_id>/attendance/", views.attendance, name="attendance"),
    path("meetings/<int:meeting_id>/minutes/", views.minutes_save, name="minutes"),
    path("meetings/<int:meeting_id>/minutes/approve/", views.minutes_approve, name="minutes-approve"),
    path("meetings/<int:meeting_id>/minutes/correct/", views.minutes_correct, name="minutes-correct"),
    path("meetings/<int:meeting_id>/minutes.pdf", views.minutes_pdf, name="minutes-pdf"),
    path("meetings/<int:meeting_id>/decisions/", views.decision_create, name="decision-create"),
    path("meetings/<int:meeting_id>/cancel/", views.meeting_cancel, name="meeting-cancel"),
    path("actions/mine/", views.my_actions, name="my-actions"),
    path("actions/overdue/", views.overdue, name="overdue"),
    path("actions/<int:item_id>/", views.action_detail, name="action"),
]
