from __future__ import annotations

from typing import Any

from tortoise.queryset import QuerySet

from gql.core.loaders import ModelByIdLoader, RowsByKeyLoader
from models.faqs import FaqStatus
from models.wizard import WizardOption, WizardOptionFaq, WizardOptionIssue, WizardStep


class WizardStepByIdLoader(ModelByIdLoader):
    model = WizardStep


class OptionsByStepIdLoader(RowsByKeyLoader):
    key_field = "step_id"

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        return WizardOption.filter(step_id__in=keys)


class FaqsByWizardOptionIdLoader(RowsByKeyLoader):
    key_field = "option_id"

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        # Suggestions never lead to a draft.
        return WizardOptionFaq.filter(option_id__in=keys, faq__status=FaqStatus.PUBLISHED).select_related("faq")

    def value(self, row: Any) -> Any:
        return row.faq


class IssuesByWizardOptionIdLoader(RowsByKeyLoader):
    key_field = "option_id"

    def queryset(self, keys: list[Any]) -> QuerySet[Any]:
        return WizardOptionIssue.filter(option_id__in=keys).select_related("issue")

    def value(self, row: Any) -> Any:
        return row.issue
