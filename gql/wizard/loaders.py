"""Batched reads of the Help Wizard: steps, their options, and the FAQs and issues an option suggests."""

from __future__ import annotations

from tortoise.queryset import QuerySet

from gql.core.loaders import ModelByIdLoader, RowsByKeyLoader
from models.faqs import Faq, FaqStatus
from models.issues import Issue
from models.wizard import WizardOption, WizardOptionFaq, WizardOptionIssue, WizardStep


class WizardStepByIdLoader(ModelByIdLoader[WizardStep]):
    model = WizardStep


class OptionsByStepIdLoader(RowsByKeyLoader[WizardOption]):
    key_field = "step_id"

    def queryset(self, keys: list[int]) -> QuerySet[WizardOption]:
        return WizardOption.filter(step_id__in=keys)


class FaqsByWizardOptionIdLoader(RowsByKeyLoader[Faq]):
    key_field = "option_id"

    def queryset(self, keys: list[int]) -> QuerySet[WizardOptionFaq]:
        # Suggestions never lead to a draft.
        return WizardOptionFaq.filter(option_id__in=keys, faq__status=FaqStatus.PUBLISHED).select_related("faq")

    def value(self, row: WizardOptionFaq) -> Faq:
        return row.faq


class IssuesByWizardOptionIdLoader(RowsByKeyLoader[Issue]):
    key_field = "option_id"

    def queryset(self, keys: list[int]) -> QuerySet[WizardOptionIssue]:
        return WizardOptionIssue.filter(option_id__in=keys).select_related("issue")

    def value(self, row: WizardOptionIssue) -> Issue:
        return row.issue
