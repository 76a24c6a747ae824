from django.urls import path

from .views import booking, courses, day, feed, week

app_name = "scheduling"

urlpatterns = [
    # The professional's day (views/day.py).
    path("calendar/", day.my_day, name="my_day"),
    path("appointments/<uuid:public_id>/did-not-attend/", day.did_not_attend, name="did_not_attend"),
    # Week views (views/week.py): one's own, a colleague's, a team's, a room's.
    path("calendar/week/", week.my_week, name="my_week"),
    path("calendar/week/team/<uuid:team_public_id>/", week.team_week, name="team_week"),
    path("calendar/week/room/<uuid:room_public_id>/", week.room_week, name="room_week"),
    # Booking and changing an appointment (views/booking.py).
    path("patients/<uuid:public_id>/appointments/", booking.patient_appointments, name="patient_appointments"),
    path("patients/<uuid:public_id>/appointments/new/", booking.appointment_book, name="book"),
    path("appointments/<uuid:public_id>/", booking.appointment_detail, name="appointment"),
    path("appointments/<uuid:public_id>/move/", booking.appointment_move, name="appointment_move"),
    path("appointments/<uuid:public_id>/cancel/", booking.appointment_cancel, name="appointment_cancel"),
    # The calendar subscription and the invitation letter (views/feed.py).
    path("calendar/subscription/", feed.subscription, name="subscription"),
    path("calendar/feed/<str:token>.ics", feed.ical_feed, name="ical_feed"),
    path("appointments/<uuid:public_id>/invitation/", feed.invitation, name="invitation"),
    # Group courses (views/courses.py).
    path("courses/", courses.course_list, name="courses"),
    path("courses/new/", courses.course_create, name="course_create"),
    path("courses/<uuid:public_id>/", courses.course_detail, name="course"),
    path("courses/<uuid:public_id>/participants/", courses.participant_add, name="participant_add"),
    path("courses/participants/<uuid:public_id>/drop-out/", courses.participant_drop_out, name="participant_drop_out"),
    path("courses/sessions/<uuid:public_id>/register/", courses.session_register, name="session_register"),
]
