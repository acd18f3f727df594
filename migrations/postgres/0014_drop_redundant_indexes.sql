-- Two indexes every transition paid for and no query needs (issue 25: each
-- index an UPDATE or INSERT touches is another page written per event).
-- `transitions_workload_arn` is the leading column of `transitions_control_id`
-- (workload_arn, lens, question_id, id), which serves every lookup by ARN.
-- `controls_state` duplicates `controls_live_state` (state, ...) WHERE
-- removed_at IS NULL for every query of current controls; a query that asks for
-- removed controls by state reads the table instead.
DROP INDEX transitions_workload_arn;
DROP INDEX controls_state;
