"""The calendar's pages, one module per part: the professional's day (day), the week views and the
booking form (week, booking), the calendar feed and the invitation letter (feed), courses (courses)."""
