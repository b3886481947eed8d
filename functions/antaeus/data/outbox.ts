import type { Fragment } from "postgres";
import type { Sql } from "../../runtime/index.js";
import { EVENT_TYPES } from "../domain/events.js";
import { DECLINES, HARD_DECLINED, PAID, WAITING_FOR_PERSON } from "../domain/status.js";

/**
 * The transactional outbox (docs/events.md) as a CTE of the verdicts' statement (verdicts.ts):
 * what the verdicts that took effect (the CTE `applied`) mean to other services, committed with
 * them or not at all. `applied` carries each invoice's id, status, customer, currency, period,
 * next retry, the retry the verdict ends, its decline reason, and its amount already written as
 * the exact decimal (kernel/money.ts).
 */
export function outboxCte(sql: Sql, runId: number): Fragment {
  return sql`
    events as (
      insert into billing_events (type, subject, data)
      select e.type, 'invoices/' || a.id,
             jsonb_build_object(
               'invoiceId', a.id, 'customerId', a.customer_id, 'runId', ${runId}::int,
               'amount', jsonb_build_object('currency', a.currency, 'value', a.amount),
               'period', a.period::text, 'retry', a.retry) || e.data
      from applied a
      cross join lateral (values
        (${EVENT_TYPES.paid}, a.status = ${PAID}, '{}'::jsonb),
        (${EVENT_TYPES.paymentFailed}, a.status in ${sql(DECLINES)},
         jsonb_build_object('reason', a.reason, 'hard', a.status = ${HARD_DECLINED},
                            'retryScheduled', a.next_retry_at is not null,
                            'nextRetryAt', a.next_retry_at)),
        (${EVENT_TYPES.needsPerson}, a.status in ${sql(WAITING_FOR_PERSON)},
         jsonb_build_object('status', a.status, 'reason', a.reason))
      ) as e(type, wanted, data)
      where e.wanted
      returning 1
    )`;
}
