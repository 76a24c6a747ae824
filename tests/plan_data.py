"""A centre shaped like the largest seed profile, scaled down, built set-based in SQL for the plan
test (tests/test_query_plans.py): 15 teams of 6 professionals and a coordinator, 2,000 citizens, each
with 6 encounters, 12 measurements, 5 tasks, 8 appointments over 24 weeks with their reservations
(several a week for every professional), care gaps (half the open ones booked), notifications and 8
access-log rows, and two years of rollup rows; each team has a course of eight sessions with ten
participants. Fewer rows per citizen than the
large profile (20 encounters, 60 measurements), which only makes a scan look cheaper here than it will
be there; what decides the planner's choice is kept: one citizen is one of thousands, a team a
fifteenth of the centre, a caseload a sixth of a team."""

from django.db import connection

from coordination.caregaps import rules_fingerprint

TEAMS = 15
PROFESSIONALS_PER_TEAM = 6
CITIZENS = 2_000  # < 10,000: the CPR number's last four digits are the citizen's number
ENCOUNTERS_PER_CITIZEN = 6
TASKS_PER_CITIZEN = 5
ACCESS_ROWS_PER_CITIZEN = 8
APPOINTMENTS_PER_CITIZEN = 8
MONTHS_OF_ROLLUPS = 24
TEAM_PREFIX = "Plan team"

FIRST_NAMES = [
    "Anne", "Birgit", "Bent", "Camilla", "Dorte", "Erik", "Finn", "Grethe", "Hans", "Inge", "Jens", "Jytte",
    "Karen", "Kirsten", "Lars", "Lone", "Mette", "Niels", "Ole", "Poul", "Rasmus", "Susanne", "Søren", "Tove",
    "Ulla", "Vibeke", "Åse", "Ørnulf", "Henrik", "Marianne", "Peter", "Hanne", "Jørgen", "Else", "Bo", "Lis",
]  # fmt: skip
LAST_NAMES = [
    "Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen", "Rasmussen",
    "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Christiansen", "Poulsen", "Johansen",
    "Møller", "Mortensen", "Knudsen", "Jakobsen", "Mikkelsen", "Frederiksen", "Lund", "Holm", "Schmidt",
    "Eriksen", "Kristiansen", "Simonsen", "Clausen", "Svendsen", "Andreasen", "Iversen", "Østergaard", "Bach",
    "Vestergaard", "Jeppesen", "Nissen", "Lauridsen", "Kjær",
]  # fmt: skip

# The tables filled here. Their triggers (history rows, the rollups' stale days, the care-gap changes,
# the team history) would take a minute row by row, so they are off while the centre is built, and
# the team history is written set-based below instead: a superuser switches off every trigger,
# foreign keys' included, for the session (session_replication_role); any other owner switches off
# the tables' own triggers (ALTER TABLE is transactional: the rollback switches them on again) and
# the foreign keys are checked once at the end.
FILLED_TABLES = [
    "patients_patient", "patients_condition", "patients_enrolment", "patients_relative", "patients_goal",
    "patients_encounter", "patients_measurement", "patients_agreedaction", "patients_amendment", "patients_consent",
    "coordination_task", "coordination_tasktransition",
    "coordination_notification", "coordination_caregap", "coordination_caregapreview", "coordination_handovernote",
    "coordination_referral",
    "healthcenter_accesslog", "patients_teamresponsibility",
    "scheduling_appointment", "scheduling_appointment_professionals", "scheduling_reservation", "scheduling_room",
    "scheduling_course", "scheduling_course_professionals", "scheduling_coursesession", "scheduling_courseparticipant",
]  # fmt: skip

STATEMENTS = [
    "SELECT setseed(0.42)",
    # Staff: per team one coordinator (k = 0) and professionals; memberships by the number in the name.
    """INSERT INTO healthcenter_team (public_id, name)
       SELECT gen_random_uuid(), %(team_prefix)s || ' ' || lpad(t::text, 2, '0')
       FROM generate_series(1, %(teams)s) t""",
    """INSERT INTO healthcenter_user (password, is_superuser, username, first_name, last_name, email, is_staff,
           is_active, date_joined, public_id, role, profession)
       SELECT '!', false, 'plan-' || t.id || '-' || k, 'Astrid', 'Bundesen', '', false, true, now(),
              gen_random_uuid(), CASE WHEN k = 0 THEN 'coordinator' ELSE 'professional' END,
              CASE WHEN k = 0 THEN '' ELSE 'nurse' END
       FROM healthcenter_team t, generate_series(0, %(professionals)s) k
       WHERE t.name LIKE %(team_prefix)s || ' %%'""",
    """INSERT INTO healthcenter_user_teams (user_id, team_id)
       SELECT u.id, split_part(u.username, '-', 2)::bigint FROM healthcenter_user u WHERE u.username LIKE 'plan-%%'""",
    # Citizens: team by number, responsible professional one of the team's; one in twenty discharged.
    """CREATE TEMPORARY TABLE plan_staff ON COMMIT DROP AS
       SELECT (row_number() OVER (ORDER BY t.id))::int AS n, t.id AS team_id,
              array_agg(u.id ORDER BY u.id) FILTER (WHERE u.role = 'professional') AS professionals,
              min(u.id) FILTER (WHERE u.role = 'coordinator') AS coordinator
       FROM healthcenter_team t JOIN healthcenter_user_teams ut ON ut.team_id = t.id
       JOIN healthcenter_user u ON u.id = ut.user_id
       WHERE t.name LIKE %(team_prefix)s || ' %%' GROUP BY t.id""",
    """INSERT INTO patients_patient (public_id, cpr, first_name, last_name, birth_date, sex, address, postal_code,
           city, phone, email, gp_name, gp_phone, status, version, created_at, updated_at,
           responsible_professional_id, team_id)
       SELECT gen_random_uuid(), to_char(b.day, 'DDMMYY') || lpad(i::text, 4, '0'),
              (%(first_names)s::text[])[1 + i %% cardinality(%(first_names)s::text[])],
              (%(last_names)s::text[])[1 + (i * 7) %% cardinality(%(last_names)s::text[])],
              b.day, CASE WHEN i %% 2 = 0 THEN 'female' ELSE 'male' END, 'Vejen ' || i, '8000', 'Aarhus',
              '', '', 'Lægehuset', '', CASE WHEN i %% 20 = 0 THEN 'discharged' ELSE 'active' END, 1,
              now(), now(), s.professionals[1 + (i / %(teams)s) %% cardinality(s.professionals)], s.team_id
       FROM generate_series(1, %(citizens)s) i
       CROSS JOIN LATERAL (SELECT date '1935-01-01' + (i * 37) %% 20000 AS day) b
       JOIN plan_staff s ON s.n = 1 + i %% %(teams)s""",
    """INSERT INTO patients_teamresponsibility (valid_from, recorded_at, patient_id, team_id)
       SELECT NULL, now(), p.id, p.team_id FROM patients_patient p JOIN plan_staff s ON s.team_id = p.team_id""",
    # r: the professional's number in the centre; m: the citizen's among the professional's citizens (the
    # calendar below gives each of them a time of its own).
    """CREATE TEMPORARY TABLE plan_citizen ON COMMIT DROP AS
       SELECT p.id, p.public_id, p.team_id, p.responsible_professional_id AS professional,
              (row_number() OVER (ORDER BY p.id))::int AS i,
              (dense_rank() OVER (ORDER BY p.responsible_professional_id))::int - 1 AS r,
              (row_number() OVER (PARTITION BY p.responsible_professional_id ORDER BY p.id))::int - 1 AS m
       FROM patients_patient p JOIN plan_staff s ON s.team_id = p.team_id""",
    # Seven in ten with diabetes (one in ten of them prediabetes), three in ten with dementia.
    """INSERT INTO patients_condition (public_id, kind, icd10, diagnosed_on, patient_id)
       SELECT gen_random_uuid(), k.kind, k.icd10, current_date - 400 - (c.i * 13) %% 3000, c.id
       FROM plan_citizen c
       JOIN (VALUES (0, 'dm2', 'E11'), (1, 'dm2', 'E11'), (2, 'dm2', 'E11'), (3, 'dm2', 'E11'), (4, 'dm2', 'E11'),
                    (5, 'dm1', 'E10'), (6, 'prediabetes', 'R73'), (7, 'dem_alzheimer', 'F00'),
                    (8, 'dem_vascular', 'F01'), (9, 'dem_unspecified', 'F03')) k (n, kind, icd10)
         ON k.n = c.i %% 10""",
    """INSERT INTO patients_enrolment (public_id, referral_received_on, start_on, end_on, end_reason, patient_id,
           programme_id)
       SELECT gen_random_uuid(), d.diagnosed_on + 10, d.diagnosed_on + 20,
              CASE WHEN c.i %% 20 = 0 THEN d.diagnosed_on + 300 END,
              CASE WHEN c.i %% 20 = 0 THEN 'completed' ELSE '' END, c.id,
              (SELECT id FROM patients_programme
               WHERE code = CASE WHEN d.kind LIKE 'dem%%' THEN 'dementia-follow-up' ELSE 'diabetes-follow-up' END)
       FROM plan_citizen c JOIN patients_condition d ON d.patient_id = c.id""",
    """INSERT INTO patients_relative (public_id, name, relation, phone, is_primary_caregiver, may_receive_information,
           created_at, patient_id, primary_caregiver_from, primary_caregiver_until)
       SELECT gen_random_uuid(), 'Pårørende ' || c.i, 'datter', '', true, true, now(), c.id,
              current_date - 700, NULL
       FROM plan_citizen c WHERE c.i %% 3 = 0""",
    """INSERT INTO patients_goal (public_id, text, target_low, target_high, review_on, status, created_at, version,
           created_by_id, measurement_type_id, patient_id)
       SELECT gen_random_uuid(), 'At have det godt', 48, 70, current_date + (c.i %% 200), 'active',
              now() - interval '200 days', 1, c.professional,
              (SELECT id FROM patients_measurementtype WHERE code = 'hba1c'), c.id
       FROM plan_citizen c WHERE c.i %% 10 < 7""",
    # Encounters every five weeks or so, back from today; the newest one of one in ten is a draft.
    """INSERT INTO patients_encounter (public_id, kind, started_at, duration_minutes, note, what_matters,
           signed_at, version, created_at, professional_id, patient_id, caregiver_present)
       SELECT gen_random_uuid(), 'individual', e.at, 30, 'Samtale om hverdagen', 'At gå tur med hunden',
              CASE WHEN k = 0 AND c.i %% 10 = 0 THEN NULL ELSE e.at + interval '1 hour' END, 1, e.at,
              c.professional, c.id, c.i %% 10 >= 7 AND k %% 2 = 0
       FROM plan_citizen c, generate_series(0, %(encounters)s - 1) k
       CROSS JOIN LATERAL (SELECT now() - make_interval(days => k * 35 + (c.i %% 30) + 1) AS at) e""",
    # Two values per encounter: HbA1c and weight (MMSE and weight for dementia).
    """INSERT INTO patients_measurement (public_id, value, result, measured_at, source, encounter_id,
           recorded_by_id, type_id, patient_id, correction_reason, corrects_id, recorded_at)
       SELECT gen_random_uuid(), 40 + (e.id %% 50), '', e.started_at, 'encounter', e.id, e.professional_id,
              t.id, e.patient_id, '', NULL, e.started_at
       FROM patients_encounter e JOIN plan_citizen c ON c.id = e.patient_id
       JOIN patients_measurementtype t
         ON t.code = ANY (CASE WHEN c.i %% 10 >= 7 THEN ARRAY['mmse', 'weight'] ELSE ARRAY['hba1c', 'weight'] END)""",
    """INSERT INTO patients_agreedaction (public_id, text, position, encounter_id)
       SELECT gen_random_uuid(), 'Gåtur hver dag', 0, e.id
       FROM patients_encounter e JOIN plan_citizen c ON c.id = e.patient_id WHERE e.id %% 2 = 0""",
    """INSERT INTO patients_amendment (public_id, text, created_at, author_id, encounter_id)
       SELECT gen_random_uuid(), 'Tilføjelse', e.started_at + interval '1 day', e.professional_id, e.id
       FROM patients_encounter e JOIN plan_citizen c ON c.id = e.patient_id WHERE e.id %% 10 = 0""",
    """INSERT INTO patients_consent (public_id, kind, given_on, given_by, withdrawn_on, withdrawn_by, recorded_by_id,
           patient_id)
       SELECT gen_random_uuid(), k.kind, current_date - 500, 'Borgeren', NULL, '', c.professional, c.id
       FROM plan_citizen c, (VALUES ('treatment'), ('story_reports')) k (kind)""",
    # Tasks: the newest about each citizen open (a third of them overdue), the older ones done.
    """INSERT INTO coordination_task (public_id, title, description, due_on, priority, status, origin,
           recurrence_months, created_at, completed_at, version, agreed_action_id, assignee_id, created_by_id,
           patient_id, referral_id, team_id)
       SELECT gen_random_uuid(), 'Opfølgning ' || k, '', current_date - k * 60 + 20 - (c.i %% 3) * 15,
              2 + (c.i %% 2), CASE WHEN k = 0 THEN 'open' ELSE 'done' END, 'manual', NULL,
              now() - make_interval(days => k * 60 + 30),
              CASE WHEN k = 0 THEN NULL ELSE now() - make_interval(days => k * 60) END, 1, NULL,
              CASE WHEN c.i %% 7 = 0 THEN NULL ELSE c.professional END, c.professional, c.id, NULL, c.team_id
       FROM plan_citizen c, generate_series(0, %(tasks)s - 1) k""",
    """INSERT INTO coordination_task (public_id, title, description, due_on, priority, status, origin,
           created_at, version, team_id, assignee_id)
       SELECT gen_random_uuid(), 'Teammøde ' || k, '', current_date + k, 2, 'open', 'manual', now(), 1, s.team_id,
              s.professionals[1 + k %% cardinality(s.professionals)]
       FROM plan_staff s, generate_series(1, 10) k""",
    """INSERT INTO coordination_tasktransition (at, from_status, to_status, by_id, from_assignee_id, task_id,
           to_assignee_id)
       SELECT coalesce(t.completed_at, t.created_at), 'open', t.status, t.assignee_id, NULL, t.id, t.assignee_id
       FROM coordination_task t JOIN plan_citizen c ON c.id = t.patient_id""",
    """INSERT INTO coordination_notification (kind, created_at, seen_at, actor_id, handover_id, user_id, task_id)
       SELECT 'assigned', t.created_at, CASE WHEN t.status = 'open' THEN NULL ELSE t.created_at END, NULL, NULL,
              t.assignee_id, t.id
       FROM coordination_task t JOIN plan_citizen c ON c.id = t.patient_id WHERE t.assignee_id IS NOT NULL""",
    # Care gaps: every citizen has had one filled; three in ten have one open.
    """INSERT INTO coordination_caregap (opened_at, closed_at, patient_id, task_id, rule_id)
       SELECT now() - interval '300 days', CASE WHEN g = 0 THEN now() - interval '200 days' END, c.id, NULL,
              (SELECT id FROM coordination_caregaprule ORDER BY id OFFSET (c.i + g) %% 5 LIMIT 1)
       FROM plan_citizen c, generate_series(0, 1) g WHERE g = 0 OR c.i %% 10 < 3""",
    # Every citizen reviewed by the care-gap job under today's rules, rechecks due in the coming weeks:
    # the state in which its nightly run finds nothing to do.
    """INSERT INTO coordination_caregapreview (patient_id, reviewed_on, recheck_on, rules)
       SELECT c.id, current_date, current_date + 1 + c.i %% 60, %(rules)s FROM plan_citizen c""",
    """INSERT INTO coordination_handovernote (public_id, text, created_at, author_id, patient_id, to_team_id)
       SELECT gen_random_uuid(), 'Husk at ringe til datteren', now() - make_interval(days => k * 90), c.professional,
              c.id, c.team_id
       FROM plan_citizen c, generate_series(0, 1) k""",
    """INSERT INTO coordination_referral (public_id, source, reason, received_on, attachments, status,
           decline_reason, triaged_at, created_at, created_by_id, enrolment_id, patient_id, programme_id, team_id,
           triaged_by_id, new_citizen)
       SELECT gen_random_uuid(), 'gp', 'Henvist af egen læge', n.referral_received_on, '', 'accepted', '', now(),
              now(), s.coordinator, n.id, c.id, n.programme_id, c.team_id, s.coordinator, false
       FROM plan_citizen c JOIN patients_enrolment n ON n.patient_id = c.id
       JOIN plan_staff s ON s.team_id = c.team_id""",
    # The calendar (issue 13). Rooms; then eight appointments per citizen with their professional,
    # three weeks apart from twelve weeks back to eleven ahead, each of a professional's citizens at a
    # weekday and hour of its own (08-13; the citizens of one professional are fewer than 30), so that a
    # professional's week holds several and no two overlap; held or missed in the past, one in seven
    # of those to come cancelled by the citizen. One in twelve is in a room (each room taken by one
    # professional at a time). Every appointment not cancelled holds its reservations, as the
    # services write them (the exclusion constraints check the times here too).
    """INSERT INTO scheduling_room (public_id, name, location, capacity, is_active)
       SELECT gen_random_uuid(), 'Plan rum ' || n, 'Sundhedshuset', 2 + n %% 3, true FROM generate_series(1, 8) n""",
    """CREATE TEMPORARY TABLE plan_room ON COMMIT DROP AS
       SELECT (row_number() OVER (ORDER BY id))::int - 1 AS n, id FROM scheduling_room WHERE name LIKE 'Plan rum %%'""",
    """INSERT INTO scheduling_appointment (public_id, patient_id, kind, starts_at, ends_at, place, room_id, purpose,
           status, cancel_reason, session_id, encounter_id, booked_by_id, booked_at, status_changed_at, version)
       SELECT gen_random_uuid(), c.id,
              CASE WHEN rm.id IS NOT NULL THEN 'individual' WHEN k %% 2 = 0 THEN 'phone' ELSE 'home_visit' END,
              a.at, a.at + interval '45 minutes',
              CASE WHEN rm.id IS NOT NULL THEN 'room' WHEN k %% 2 = 0 THEN 'remote' ELSE 'home' END, rm.id,
              'Opfølgning', s.status, CASE WHEN s.status = 'cancelled_citizen' THEN 'Syg' ELSE '' END, NULL, NULL,
              c.professional, a.at - interval '20 days', CASE WHEN s.status <> 'booked' THEN a.at END, 1
       FROM plan_citizen c CROSS JOIN generate_series(0, %(appointments)s - 1) k
       CROSS JOIN LATERAL (
           SELECT (date_trunc('week', current_date)::date + ((k - 4) * 21 + (c.m %% 3) * 7 + c.m %% 5)
                   + make_interval(hours => 8 + (c.m / 5) %% 6)) AT TIME ZONE 'Europe/Copenhagen' AS at) a
       CROSS JOIN LATERAL (SELECT CASE WHEN a.at < now() THEN
                                         CASE WHEN c.i %% 10 = 0 THEN 'did_not_attend' ELSE 'attended' END
                                       WHEN c.i %% 7 = 0 THEN 'cancelled_citizen' ELSE 'booked' END AS status) s
       LEFT JOIN plan_room rm ON (c.r + c.m) %% 12 = 0 AND rm.n = (c.r / 12) %% 8""",
    """INSERT INTO scheduling_appointment_professionals (appointment_id, user_id)
       SELECT a.id, a.booked_by_id FROM scheduling_appointment a JOIN plan_citizen c ON c.id = a.patient_id""",
    """INSERT INTO scheduling_reservation (during, professional_id, room_id, appointment_id, session_id)
       SELECT tstzrange(a.starts_at, a.ends_at), r.professional_id, r.room_id, a.id, NULL
       FROM scheduling_appointment a JOIN plan_citizen c ON c.id = a.patient_id
       CROSS JOIN LATERAL (SELECT a.booked_by_id AS professional_id, NULL::bigint AS room_id
                           UNION ALL SELECT NULL, a.room_id WHERE a.room_id IS NOT NULL) r
       WHERE a.status NOT IN ('cancelled_citizen', 'cancelled_centre')""",
    # A diabetes school per team, taught by two of its professionals on a weekday afternoon (no
    # appointment is after 13:00) in a room no other course has that weekday: eight weekly sessions,
    # the first four held and registered, with ten of the team's citizens (one dropped out after
    # the fourth), each with an appointment in every session; the sessions hold the reservations.
    """INSERT INTO scheduling_course (public_id, name, programme_id, team_id, room_id, capacity, weekday, starts_at,
           ends_at, first_day, session_count, status, created_by_id, created_at, version)
       SELECT gen_random_uuid(), 'Diabetesskole ' || s.n,
              (SELECT id FROM patients_programme WHERE code = 'diabetes-course'), s.team_id,
              (SELECT id FROM plan_room WHERE n = (s.n - 1) / 5), 12, (s.n - 1) %% 5, time '14:00', time '16:00',
              date_trunc('week', current_date)::date - 28 + (s.n - 1) %% 5, 8, 'running', s.coordinator,
              now() - interval '60 days', 1
       FROM plan_staff s""",
    """INSERT INTO scheduling_course_professionals (course_id, user_id)
       SELECT co.id, s.professionals[k] FROM scheduling_course co JOIN plan_staff s ON s.team_id = co.team_id
       CROSS JOIN generate_series(1, 2) k""",
    """INSERT INTO scheduling_coursesession (public_id, course_id, number, starts_at, ends_at, cancelled,
           cancel_reason, note, registered_at, registered_by_id, version)
       SELECT gen_random_uuid(), co.id, g.number, t.at, t.at + interval '2 hours', false, '', '',
              CASE WHEN g.number <= 4 THEN t.at + interval '3 hours' END,
              CASE WHEN g.number <= 4 THEN s.professionals[1] END, 1
       FROM scheduling_course co JOIN plan_staff s ON s.team_id = co.team_id
       CROSS JOIN generate_series(1, 8) g (number)
       CROSS JOIN LATERAL (SELECT ((co.first_day + (g.number - 1) * 7) + co.starts_at) AT TIME ZONE 'Europe/Copenhagen'
                           AS at) t""",
    """INSERT INTO scheduling_reservation (during, professional_id, room_id, appointment_id, session_id)
       SELECT tstzrange(se.starts_at, se.ends_at), r.professional_id, r.room_id, NULL, se.id
       FROM scheduling_coursesession se JOIN scheduling_course co ON co.id = se.course_id
       CROSS JOIN LATERAL (SELECT cp.user_id AS professional_id, NULL::bigint AS room_id
                           FROM scheduling_course_professionals cp WHERE cp.course_id = co.id
                           UNION ALL SELECT NULL, co.room_id) r""",
    """INSERT INTO scheduling_courseparticipant (public_id, course_id, patient_id, status, joined_on, dropped_out_on,
           dropout_reason, added_by_id, version)
       SELECT gen_random_uuid(), co.id, c.id, CASE WHEN c.place = 1 THEN 'dropped_out' ELSE 'enrolled' END,
              co.first_day - 7, CASE WHEN c.place = 1 THEN co.first_day + 22 END,
              CASE WHEN c.place = 1 THEN 'Flyttet' ELSE '' END, co.created_by_id, 1
       FROM scheduling_course co
       JOIN (SELECT c.id, c.team_id, row_number() OVER (PARTITION BY c.team_id ORDER BY c.id) AS place
             FROM plan_citizen c JOIN patients_patient p ON p.id = c.id WHERE p.status = 'active') c
         ON c.team_id = co.team_id AND c.place <= 10""",
    """INSERT INTO scheduling_appointment (public_id, patient_id, kind, starts_at, ends_at, place, room_id, purpose,
           status, cancel_reason, session_id, encounter_id, booked_by_id, booked_at, status_changed_at, version)
       SELECT gen_random_uuid(), pa.patient_id, 'group', se.starts_at, se.ends_at, 'room', co.room_id, co.name,
              x.status, CASE WHEN x.status = 'cancelled_citizen' THEN 'Flyttet' ELSE '' END, se.id, NULL,
              co.created_by_id, co.created_at,
              CASE WHEN x.status <> 'booked' THEN se.starts_at END, 1
       FROM scheduling_courseparticipant pa JOIN scheduling_course co ON co.id = pa.course_id
       JOIN scheduling_coursesession se ON se.course_id = co.id
       CROSS JOIN LATERAL (SELECT CASE WHEN pa.status = 'dropped_out' AND se.number > 4 THEN 'cancelled_citizen'
                                       WHEN se.registered_at IS NULL THEN 'booked'
                                       WHEN (pa.patient_id + se.number) %% 5 = 0 THEN 'did_not_attend'
                                       ELSE 'attended' END AS status) x""",
    """INSERT INTO scheduling_appointment_professionals (appointment_id, user_id)
       SELECT a.id, cp.user_id FROM scheduling_appointment a JOIN scheduling_coursesession se ON se.id = a.session_id
       JOIN scheduling_course_professionals cp ON cp.course_id = se.course_id""",
    """UPDATE coordination_caregap g SET appointment_id = (
           SELECT a.id FROM scheduling_appointment a
           WHERE a.patient_id = g.patient_id AND a.status = 'booked' AND a.starts_at >= now()
           ORDER BY a.starts_at LIMIT 1)
       WHERE g.closed_at IS NULL AND g.patient_id %% 2 = 0""",
    # The access log in time order, as the database stamps real entries.
    """INSERT INTO healthcenter_accesslog (at, role, patient_public_id, action, what, outcome, user_id)
       SELECT now() - make_interval(days => k), 'professional', c.public_id, 'view', 'citizen page', 'allowed',
              c.professional
       FROM plan_citizen c, generate_series(1, %(access_rows)s) k
       ORDER BY k DESC""",
    # The rollups' rows: every indicator and month for the centre, each team and each programme.
    """INSERT INTO reporting_indicatorvalue (month, unit_kind, unit_id, numerator, denominator, value, computed_at,
           indicator_id)
       SELECT (date_trunc('month', current_date) - make_interval(months => m))::date, u.kind, u.id,
              u.id %% 40, 40 + u.id %% 40, 50, now(), i.id
       FROM reporting_indicator i, generate_series(0, %(months)s - 1) m,
            (SELECT 'centre' AS kind, 0 AS id
             UNION ALL SELECT 'team', team_id::int FROM plan_staff
             UNION ALL SELECT 'programme', id::int FROM patients_programme) u""",
    """INSERT INTO reporting_monthlyactivity (month, unit_kind, unit_id, contacts, citizens, computed_at)
       SELECT (date_trunc('month', current_date) - make_interval(months => m))::date, u.kind, u.id, 500, 300, now()
       FROM generate_series(0, %(months)s - 1) m,
            (SELECT 'centre' AS kind, 0 AS id
             UNION ALL SELECT 'team', team_id::int FROM plan_staff
             UNION ALL SELECT 'programme', id::int FROM patients_programme) u""",
    f"ANALYZE {', '.join([*FILLED_TABLES, 'reporting_indicatorvalue', 'reporting_monthlyactivity'])}",
]


# The change history (pghistory's event tables), written set-based: one insert event per row, as the
# triggers would have written it. The patient page reads it on every request (the record's version).
HISTORY_TABLES = [
    "patients_patient", "patients_condition", "patients_enrolment", "patients_relative", "patients_goal",
    "patients_consent", "patients_encounter", "patients_measurement", "patients_agreedaction", "patients_amendment",
]  # fmt: skip


def _copy_into_history(cursor, table: str) -> None:
    cursor.execute(
        """SELECT string_agg(quote_ident(e.column_name), ', ' ORDER BY e.column_name)
           FROM information_schema.columns e JOIN information_schema.columns b
             ON b.table_schema = e.table_schema AND b.table_name = %s AND b.column_name = e.column_name
           WHERE e.table_schema = 'public' AND e.table_name = %s AND e.is_generated = 'NEVER'""",
        [table, f"{table}event"],
    )
    (columns,) = cursor.fetchone()
    cursor.execute(
        f"INSERT INTO {table}event ({columns}, pgh_obj_id, pgh_label, pgh_created_at) "  # noqa: S608  # our tables
        f"SELECT {columns}, id, 'insert', now() FROM {table}"
    )


def build_centre() -> None:
    """Fills the database in the current transaction (the temporary tables go with it). The
    foreign keys are checked at the end, once: Django declares them deferred, and a check left
    pending would run at every test's end (pytest-django checks constraints on teardown)."""
    params = {
        "team_prefix": TEAM_PREFIX,
        "teams": TEAMS,
        "professionals": PROFESSIONALS_PER_TEAM,
        "citizens": CITIZENS,
        "first_names": FIRST_NAMES,
        "last_names": LAST_NAMES,
        "encounters": ENCOUNTERS_PER_CITIZEN,
        "tasks": TASKS_PER_CITIZEN,
        "access_rows": ACCESS_ROWS_PER_CITIZEN,
        "appointments": APPOINTMENTS_PER_CITIZEN,
        "months": MONTHS_OF_ROLLUPS,
        "rules": rules_fingerprint(),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        (superuser,) = cursor.fetchone()
        if superuser:
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            for table in FILLED_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for statement in STATEMENTS:
            cursor.execute(statement, params)
        for table in HISTORY_TABLES:
            _copy_into_history(cursor, table)
        cursor.execute(f"ANALYZE {', '.join(f'{table}event' for table in HISTORY_TABLES)}")
        if superuser:
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
