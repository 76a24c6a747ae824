# English as used in a Danish centre: day before month and a 24-hour clock, as in the Danish formats.
DATE_FORMAT = "j F Y"
SHORT_DATE_FORMAT = "d-m-Y"
DATETIME_FORMAT = "j F Y H:i"
SHORT_DATETIME_FORMAT = "d-m-Y H:i"
TIME_FORMAT = "H:i"
# Dates are typed as they are shown (day first); ISO 8601 is read too, as it cannot be misread.
DATE_INPUT_FORMATS = ["%d-%m-%Y", "%Y-%m-%d"]
DATETIME_INPUT_FORMATS = ["%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
