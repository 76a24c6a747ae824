"""The citizens' records in the API (issue 12), over the same selectors (access decided and logged
under the citizen), services and definitions as the pages. The pattern every app's api.py follows:
- a viewset names its `access_work` (healthcenter.api.WorkPermission checks the role and a token's
  scope), finds the citizen through the `*_for` selector, and lists only the user's citizens with one
  `access.listed` row;
- writes call the app's services (which validate and write history); a service's ValidationError
  becomes a 400 with fields, a stale version a 409 (412 with If-Match) by healthcenter.api's handler;
- a resource carries `version` and its ETag; changes need the version the client read
  (healthcenter.api.expected_version)."""

import uuid

from django.utils.translation import gettext_noop
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from healthcenter import access
from healthcenter.access import Work
from healthcenter.api import etag

from . import selectors
from .models import Patient


class CitizenSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    team = serializers.CharField(source="team.name", read_only=True)
    responsible_professional = serializers.CharField(
        source="responsible_professional.get_full_name", read_only=True, default=None
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "cpr",
            "first_name",
            "last_name",
            "birth_date",
            "sex",
            "address",
            "postal_code",
            "city",
            "phone",
            "email",
            "gp_name",
            "gp_phone",
            "status",
            "team",
            "responsible_professional",
            "version",
        ]
        read_only_fields = fields


class CitizenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The citizens of the user's teams (the care relation). Search by name or CPR number is a POST
    (STYLE.md rule 4: never a name or a CPR number in an address)."""

    access_work = Work.CITIZENS
    serializer_class = CitizenSerializer
    lookup_field = "public_id"
    lookup_value_converter = "uuid"
    filterset_fields = ["status"]
    ordering_fields = ["last_name", "first_name", "id"]
    ordering = ["last_name", "first_name", "id"]

    def get_queryset(self):
        return selectors.patients_visible_to(self.request.user).select_related("team", "responsible_professional")

    def list(self, request, *args, **kwargs):
        access.listed(request.user, gettext_noop("API: citizens"))
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: CitizenSerializer, 404: None})
    def retrieve(self, request, public_id: uuid.UUID | None = None, **kwargs):
        patient = selectors.patient_for(request.user, public_id, what=gettext_noop("API: citizen"))
        return Response(self.get_serializer(patient).data, headers={"ETag": etag(patient.version)})


router = SimpleRouter()
router.register("citizens", CitizenViewSet, basename="citizen")

app_name = "api-patients"
urlpatterns = router.urls
