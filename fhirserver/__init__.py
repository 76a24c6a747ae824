"""FHIR R4 (read) over the centre's records (issue 12). Not called `fhir`: that is the installed
fhir.resources' top-level package, which the tests use to validate what this app emits."""
