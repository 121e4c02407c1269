"""The one rule for Cloud Quotas entries (``quota_rule.resolve``) against what Google documents.

Each case quotes the sentence it tests and where it is published, and its entries and expected
values are written out here, not taken from the emulator's tables (which were written with the
same rule in mind). What no document says (a region-only entry over one of another dimension
only, for QuotaInfo entries; a negative value as unlimited) is tested as a choice at the end,
and named as a choice in docs/sources.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trayapp.sources.quota_rule import UNLIMITED, QuotaEntry, resolve

H100 = {"gpu_family": "NVIDIA_H100"}
H200 = {"gpu_family": "NVIDIA_H200"}
DEFAULT_ORIGIN = {"build_origin": "default"}


def both_orders(entries, region, wanted=None):
    """The value for ``region``, asserted the same whatever order the API lists entries in."""
    forward = resolve(entries, region, wanted)
    assert resolve(list(reversed(entries)), region, wanted) == forward
    return forward


# DimensionsInfo.dimensions, Cloud Quotas API v1 (the typo is Google's):
# "If a dimension does not appear in the map of dimensions, the dimensions info applies to all
# the dimension values except for those that have another DimenisonInfo instance configured for
# the specific value."
# https://cloud.google.com/php/docs/reference/cloud-quotas/latest/V1.DimensionsInfo


def test_an_entry_without_region_applies_to_every_region_without_its_own_entry():
    entries = [QuotaEntry({}, 4.0), QuotaEntry({"region": "us-central1"}, 16.0)]
    assert both_orders(entries, "us-central1") == 16.0  # configured for the specific value
    assert both_orders(entries, "us-east1") == 4.0  # "applies to all the dimension values"
    assert both_orders(entries, "europe-west4") == 4.0


def test_an_entry_without_gpu_family_applies_to_every_family_without_its_own_entry():
    entries = [QuotaEntry({}, 1.0), QuotaEntry(H100, 8.0)]
    assert both_orders(entries, "us-east1", H100) == 8.0
    assert both_orders(entries, "us-east1", H200) == 1.0


def test_an_entry_for_another_value_of_a_dimension_does_not_apply():
    entries = [QuotaEntry({"region": "us-east1"}, 16.0), QuotaEntry(H200, 8.0)]
    assert both_orders(entries, "us-central1", H100) is None  # neither names us-central1 / H100
    assert (
        both_orders([QuotaEntry({"build_origin": "trigger"}, 500.0)], "us-east1", DEFAULT_ORIGIN)
        is None
    )


def test_the_exception_holds_per_combination_of_values():
    """A region entry for H100 is "configured for the specific value" of H100 in that region
    only: H200 there, and H100 elsewhere, keep the entries that leave those dimensions out."""
    entries = [
        QuotaEntry(H100, 8.0),
        QuotaEntry({}, 2.0),
        QuotaEntry({"region": "us-central1", **H100}, 16.0),
    ]
    assert both_orders(entries, "us-central1", H100) == 16.0
    assert both_orders(entries, "us-west1", H100) == 8.0
    assert both_orders(entries, "us-central1", H200) == 2.0


# DimensionsInfo.applicable_locations, Cloud Quotas API v1:
# "The applicable regions or zones of this dimensions info. The field will be set to ['global']
# for quotas that are not per region or per zone. Otherwise, it will be set to the list of
# locations this dimension info is applicable to."
# https://cloud.google.com/ruby/docs/reference/google-cloud-cloud_quotas-v1/latest/Google-Cloud-CloudQuotas-V1-DimensionsInfo


def test_an_entry_applies_only_in_its_applicable_locations():
    offered = ("us-central1", "europe-west4")
    entries = [
        QuotaEntry({}, 8.0, offered),
        QuotaEntry({"region": "us-central1"}, 16.0, ("us-central1",)),
    ]
    assert both_orders(entries, "us-central1") == 16.0
    assert both_orders(entries, "europe-west4") == 8.0
    assert both_orders(entries, "us-east1") is None  # no entry is applicable there: not reported


def test_a_region_entry_outside_its_own_locations_does_not_apply():
    entries = [QuotaEntry({}, 4.0), QuotaEntry({"region": "us-east1"}, 16.0, ("us-central1",))]
    assert both_orders(entries, "us-east1") == 4.0


# "Dimension precedence", Configure Cloud Quotas dimensions (written for quota preference
# configurations; that QuotaInfo's entries, which reflect them, follow the same order is this
# project's reading):
# "1. A quota preference configuration with all location and service-specific dimensions
# specified takes precedence over any other configuration.
#  2. Configurations that specify location dimensions only take precedence over configurations
# containing only service-specific dimensions."
# https://cloud.google.com/docs/quotas/configure-dimensions#dimension_precedence

PRECEDENCE = [
    QuotaEntry({}, 1.0),
    QuotaEntry(H100, 2.0),
    QuotaEntry({"region": "europe-west4"}, 3.0),
    QuotaEntry({"region": "europe-west4", **H100}, 5.0),
]


@pytest.mark.parametrize(
    "drop", [(), (1,), (2,), (1, 2)], ids=["all", "-family", "-region", "-both"]
)
def test_location_and_service_dimensions_together_take_precedence_over_any_other(drop):
    entries = [e for i, e in enumerate(PRECEDENCE) if i not in drop]
    assert both_orders(entries, "europe-west4", H100) == 5.0


def test_location_only_takes_precedence_over_service_specific_only():
    assert both_orders(PRECEDENCE[:3], "europe-west4", H100) == 3.0
    build = [QuotaEntry(DEFAULT_ORIGIN, 44.0), QuotaEntry({"region": "europe-west4"}, 176.0)]
    assert both_orders(build, "europe-west4", DEFAULT_ORIGIN) == 176.0


# QuotaDetails.value, Cloud Quotas API v1: "The value currently in effect and being enforced."
# https://cloud.google.com/ruby/docs/reference/google-cloud-cloud_quotas-v1/latest/Google-Cloud-CloudQuotas-V1-QuotaDetails


def test_the_value_read_is_the_entrys_own_value():
    assert (
        both_orders([QuotaEntry({}, 0.0), QuotaEntry({"region": "us-east1"}, 24.0)], "us-east1")
        == 24.0
    )
    assert (
        both_orders([QuotaEntry({}, 0.0)], "us-east1") == 0.0
    )  # a zero limit is a zero, not "none"


# Choices no document makes for QuotaInfo entries (docs/sources.md names them as choices).


def test_choice_a_negative_value_is_unlimited():
    """Cloud Quotas documents -1 as unlimited for a preference's value, QuotaConfig.preferred_value:
    "Must be greater than or equal to -1. If set to -1, it means the value is "unlimited"."
    (https://cloud.google.com/php/docs/reference/cloud-quotas/latest/V1.QuotaConfig); for the
    value in effect (QuotaDetails.value) it says nothing. Reading -1 there the same way, and any
    other negative value too, is this project's choice."""
    assert (
        both_orders([QuotaEntry({}, 8.0), QuotaEntry({"region": "us-west2"}, -1.0)], "us-west2")
        == UNLIMITED
    )
    assert both_orders([QuotaEntry({}, -2.0)], "us-west2") == UNLIMITED


def test_choice_more_dimensions_beat_fewer_among_entries_without_region():
    """Two service dimensions over one: no page orders these; the family quota and the Cloud
    Build quota have only one service dimension, so this decides nothing today."""
    entries = [QuotaEntry(H100, 2.0), QuotaEntry({**H100, **DEFAULT_ORIGIN}, 6.0)]
    assert both_orders(entries, "us-east1", {**H100, **DEFAULT_ORIGIN}) == 6.0


def test_choice_a_dimension_the_check_does_not_name_never_applies():
    """An entry for a network or any dimension the check does not ask about is another
    combination of values, not a default: it gives no number."""
    assert both_orders([QuotaEntry({"network_id": "x"}, 8.0)], "us-east1", H100) is None


def test_the_documentation_marks_each_choice_as_a_choice():
    text = (Path(__file__).resolve().parents[2] / "docs" / "sources.md").read_text(encoding="utf-8")
    choices = text[text.index("Choices no document makes") :]
    assert "a negative `details.value` is unlimited" in choices
    assert "more dimensions beat fewer" in choices
    assert "is our reading" in text  # region only over the other dimension only, for QuotaInfo
    assert "(`?`" not in text and "usage `unknown`" in text  # unknown is said as on every surface
