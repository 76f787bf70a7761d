// The Stars apply form, for a signed-in member: the requirements checked again with the answers as
// they are typed, a refused submission (userErrors with codes, per field), then a good one; the
// sidebar listing the member's applications, and the requirements, show the new one from the
// cache (the payload's `viewer` refreshed them), without a refetch.
import { ApplyToStarsDocument, MyStarApplicationsDocument, StarsEligibilityDocument, type ApplyToStarsProgramInput,
  type RequirementCode, type StarsEligibilityQueryVariables } from '../generated/graphql.js';
import { appClient, args, report } from './client.js';

const { endpoint, token, good, bad } = args<{
  endpoint: string; token: string; good: ApplyToStarsProgramInput; bad: ApplyToStarsProgramInput;
}>();

const app = appClient({ endpoint, token });

/**
 * The form field a requirement is about (null: not an answer of the form), where the form shows
 * it unmet. Exhaustive: a requirement added to the schema fails `tsc` until the form handles it.
 */
function formField(code: RequirementCode): keyof ApplyToStarsProgramInput | null {
  switch (code) {
    case 'AGE_18_PLUS': return 'dateOfBirth';
    case 'WEEKLY_MINUTES': return 'weeklyMinutes';
    case 'MOTIVATION': return 'motivation';
    case 'APPLICATIONS_OPEN': case 'APPROVED_POSTS': case 'ACCOUNT_AGE': case 'NO_OPEN_APPLICATION':
    case 'NOT_ALREADY_STAR': case 'REJECTION_COOLDOWN':
      return null;
    default: {
      const unhandled: never = code;
      throw new Error(`a requirement the form does not know: ${String(unhandled)}`);
    }
  }
}

/** Where the form shows a refusal: under the field the server names (`["input", name]`), else on top. */
function shownUnder(field: string[] | null): string {
  return field?.[0] === 'input' && field[1] ? field[1] : 'form';
}

const sidebar = await app.client.query(MyStarApplicationsDocument, {}).toPromise();

async function check(answers: StarsEligibilityQueryVariables) {
  const result = await app.client.query(StarsEligibilityDocument, answers).toPromise();
  const eligibility = result.data?.viewer.starEligibility;
  return {
    error: result.error?.message ?? null,
    applicationsOpen: result.data?.starsProgram.applicationsOpen ?? null,
    eligible: eligibility?.eligible ?? null,
    statuses: Object.fromEntries(eligibility?.requirements.map((r) => [r.code, r.status]) ?? []),
    unmetFields: eligibility?.requirements.filter((r) => !r.met).map((r) => formField(r.code) ?? 'form') ?? [],
  };
}
const blank = await check({});
const typedBad = await check({ dateOfBirth: bad.dateOfBirth, weeklyMinutes: bad.weeklyMinutes, motivation: bad.motivation });
const typedGood = await check({ dateOfBirth: good.dateOfBirth, weeklyMinutes: good.weeklyMinutes, motivation: good.motivation });

async function submit(input: ApplyToStarsProgramInput) {
  const result = await app.client.mutation(ApplyToStarsDocument, { input }).toPromise();
  const payload = result.data?.applyToStarsProgram;
  return { error: result.error?.message ?? null, application: payload?.application ?? null,
    userErrors: payload?.userErrors.map((error) => ({ field: error.field, code: error.code, shownUnder: shownUnder(error.field) }))
      ?? null };
}
const refused = await submit(bad);
const accepted = await submit(good);

const requestsBeforeReading = app.requests.length;
const listed = app.client.readQuery(MyStarApplicationsDocument, {});
const requirementsNow = app.client.readQuery(StarsEligibilityDocument, {});
report({
  sidebarBefore: sidebar.data?.viewer.starApplications ?? null,
  blank, typedBad, typedGood, refused, accepted,
  sidebarAfter: listed?.data?.viewer.starApplications ?? null,
  requirementsAfter: Object.fromEntries(
    requirementsNow?.data?.viewer.starEligibility?.requirements.map((r) => [r.code, r.status]) ?? []),
  requestsAfter: app.requests.length - requestsBeforeReading,
});
await app.close();
