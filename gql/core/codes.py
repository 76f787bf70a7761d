"""The codes clients branch on, as GraphQL enums: a requirement of the Stars program and a
userError. Each value is the very string sent before these were enums (name = value), so JSON
answers are unchanged; tests/test_schema_descriptions.py scans models/ for every code raised, so a
new one cannot be forgotten here. Top-level `extensions.code` values are listed in the README (they
are not part of the schema)."""

from __future__ import annotations

from gql.core.documented import code_enum

# The Stars requirements (models/stars.py `check_eligibility`, the seed's program.toml).
REQUIREMENT_CODES: dict[str, str] = {
    "APPLICATIONS_OPEN": "The program takes applications now (listed only while it does not).",
    "AGE_18_PLUS": "The applicant is 18 or older (checked from `dateOfBirth`).",
    "APPROVED_POSTS": "The applicant has enough published posts (5 by default).",
    "ACCOUNT_AGE": "The account is old enough (90 days by default).",
    "WEEKLY_MINUTES": "The applicant can give enough minutes a week (30 by default; `weeklyMinutes`).",
    "MOTIVATION": "The motivation has the right length (50–2000 characters by default; `motivation`).",
    "NO_OPEN_APPLICATION": "The applicant has no application under review.",
    "NOT_ALREADY_STAR": "The applicant is not a Star or a member of staff already.",
    "REJECTION_COOLDOWN": "No application of theirs was rejected recently (30 days by default).",
}

RequirementCode = code_enum("RequirementCode", "Which Stars requirement a check or requirement is about.",
                            REQUIREMENT_CODES)

# Every code a userError can carry: the strings the models raise (`violation`, `Problems.add`).
USER_ERROR_CODES: dict[str, str] = {
    "BLANK": "A required text is empty (or only spaces).",
    "TOO_SHORT": "A text is shorter than its minimum (the message says how long).",
    "TOO_LONG": "A text or value is longer than its maximum (the message says the maximum).",
    "TOO_MANY": "A list holds more items than allowed (tags, languages, a search's different words).",
    "TOO_MANY_LINKS": "A Markdown body holds more than 500 `[`: links and brackets are bounded.",
    "INVALID": "A value has the wrong form (a handle, email, slug, tag, label, link or date order).",
    "OUT_OF_RANGE": "A number or date-time lies outside what is accepted.",
    "TAKEN": "The handle or email is already registered.",
    "INVALID_CREDENTIALS": "Wrong handle or password (which one is not said).",
    "NOT_FOUND": "No object the viewer may act on has that ID or slug.",
    "CONFLICT": "Someone changed the object meanwhile; reload it and try again.",
    "INVALID_STATE": "The action does not apply to the object in its current state (already published, "
                     "not under review, no open reports, ...).",
    "INVALID_TRANSITION": "An issue's status moves forward only (INVESTIGATING → IDENTIFIED → MONITORING → "
                          "RESOLVED), except reopening a RESOLVED one.",
    "LOCKED": "The thread is locked: no new replies.",
    "OWN_POST": "You cannot give kudos to your own post.",
    "ALREADY_GIVEN": "You already gave this post kudos.",
    "NOT_GIVEN": "You had not given this post kudos.",
    "ALREADY_MARKED": 'You already said "I have this too" for this issue.',
    "NOT_MARKED": "You had not marked this issue.",
    "RESOLVED": "The issue is resolved: no marks or updates until staff reopen it.",
    "ALREADY_REPORTED": "You already reported this content.",
    "SELF": "You cannot do this to your own account (change your role, suspend yourself).",
    "UNCHANGED": "The user already has that role or suspension state.",
    "APPLICANT_SUSPENDED": "The applicant is suspended: lift the suspension before approving.",
    "NOT_STARS_BLOG": "Only posts on the Stars blog introduce a Star.",
    "NOT_A_STAR": "The user given is not a Star.",
}


UserErrorCode = code_enum("UserErrorCode", (
    "Why a mutation changed nothing. A Stars requirement the applicant does not meet is refused with the "
    "requirement's own code (the RequirementCode values)."),
    {**USER_ERROR_CODES, **{code: f"Stars requirement not met: {text}" for code, text in REQUIREMENT_CODES.items()}})
