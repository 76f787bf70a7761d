"""The Help Wizard: a tree of steps whose options lead to a next step or to a resolution."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.base import PubliclyVisible
from models.faqs import Faq
from models.issues import Issue
from models.posts import Board


class WizardStep(Model, PubliclyVisible):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=60, unique=True)
    step_number = fields.IntField()
    title = fields.CharField(max_length=200)
    prompt = fields.TextField()
    is_first = fields.BooleanField(default=False)

    class Meta:
        table = "wizard_steps"
        ordering = ["step_number", "id"]


class WizardOption(Model):
    # Either `next_step` is set, or the option resolves: summary, suggested board, FAQs, issues.

    id = fields.IntField(primary_key=True)
    step: fields.ForeignKeyRelation[WizardStep] = fields.ForeignKeyField(
        "models.WizardStep", related_name="options", on_delete=fields.CASCADE
    )
    step_id: int  # the column's attribute, added by Tortoise
    position = fields.IntField(default=0)
    label = fields.CharField(max_length=200)
    next_step: fields.ForeignKeyNullableRelation[WizardStep] = fields.ForeignKeyField(
        "models.WizardStep", related_name="entered_from", null=True, on_delete=fields.SET_NULL
    )
    next_step_id: int | None
    resolution_summary = fields.TextField(null=True)
    resolution_board: fields.ForeignKeyNullableRelation[Board] = fields.ForeignKeyField(
        "models.Board", related_name="wizard_options", null=True, on_delete=fields.SET_NULL
    )
    resolution_board_id: int | None

    class Meta:
        table = "wizard_options"
        ordering = ["position", "id"]
        indexes = [("step_id", "position")]


class Suggestion(Model):
    """What a resolving option suggests, in rank order: each model adds `option` and the
    suggested row's foreign key (their reverse relations are named apart, so neither can live
    here) and makes the pair unique.
    """

    id = fields.IntField(primary_key=True)
    position = fields.IntField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "id"]


class WizardOptionFaq(Suggestion):
    option: fields.ForeignKeyRelation[WizardOption] = fields.ForeignKeyField(
        "models.WizardOption", related_name="faq_rows", on_delete=fields.CASCADE
    )
    option_id: int
    faq: fields.ForeignKeyRelation[Faq] = fields.ForeignKeyField(
        "models.Faq", related_name="wizard_rows", on_delete=fields.CASCADE
    )
    faq_id: int

    class Meta:
        table = "wizard_option_faqs"
        unique_together = [("option", "faq")]


class WizardOptionIssue(Suggestion):
    option: fields.ForeignKeyRelation[WizardOption] = fields.ForeignKeyField(
        "models.WizardOption", related_name="issue_rows", on_delete=fields.CASCADE
    )
    option_id: int
    issue: fields.ForeignKeyRelation[Issue] = fields.ForeignKeyField(
        "models.Issue", related_name="wizard_rows", on_delete=fields.CASCADE
    )
    issue_id: int

    class Meta:
        table = "wizard_option_issues"
        unique_together = [("option", "issue")]
