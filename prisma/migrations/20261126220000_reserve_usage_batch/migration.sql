-- A batch's reservations with one write per counter: reserve_usage_batch
-- reserves for several calls at once (group commit) as try_reserve_usage_counters
-- (20261126074000_reserve_refusal_as_a_value) reserved for each of them in turn,
-- but it locks each counter of the batch once and writes it once. Called per
-- call, that function wrote every counter twice per call (a lock and an add), so
-- a batch of n calls on one provider left 2n versions of each hot row in one
-- transaction, each found by following the versions before it.
--
-- First every counter of the batch is locked (created at zero when new) in the
-- guard order then by name, as finalizes lock them, and read. Then each call, in
-- the batch's order, takes as much output as every limit of its own counters
-- still leaves, seeing the calls before it, exactly as the per-call function
-- computes it; a call refused (under its floor) takes nothing. Last, each counter
-- a call reserved on is written once, with the batch's sum.
--
-- Calls are given by position: call c's counters are entries p_first[c] ..
-- p_last[c] (1-based, inclusive) of the counter arrays. Returns one row per call,
-- in order: [allowance, reserved micro-dollars, then each of its counters'
-- tokens and micro-dollars after it], or [-1, the binding limit's position among
-- the call's counters] for a refusal.
--
-- try_reserve_usage_counters stays for instances of the previous release during a
-- rolling deploy.
CREATE FUNCTION reserve_usage_batch(
  p_first integer[],
  p_last integer[],
  p_prompt_tokens bigint[],
  p_prompt_scaled numeric[],
  p_output_price bigint[],
  p_output_max bigint[],
  p_output_min bigint[],
  p_scopes text[],
  p_periods text[],
  p_workspaces text[],
  p_turns integer[],
  p_token_limits bigint[],
  p_micros_limits bigint[]
) RETURNS TABLE (call_index integer, counters bigint[])
LANGUAGE plpgsql AS $$
DECLARE
  -- The batch's counters as locked, and for each entry of the counter arrays the position of its counter here.
  v_scopes text[];
  v_periods text[];
  v_tokens bigint[];
  v_micros bigint[];
  v_reserved boolean[];
  v_slot integer[];
  c integer;
  i integer;
  s integer;
  -- numeric: a budget's room in micro-dollars times a million passes bigint's range for large budgets.
  v_fits numeric;
  v_output bigint;
  v_binding integer;
  v_reserved_micros bigint;
  v_after bigint[];
BEGIN
  WITH locked AS (
    INSERT INTO usage_counters AS u (scope, period, workspace_id, tokens, cost_micros, requests)
    SELECT DISTINCT ON (k.turn, k.scope, k.period) k.scope, k.period, k.workspace_id, 0, 0, 0
    FROM unnest(p_scopes, p_periods, p_turns, p_workspaces) AS k(scope, period, turn, workspace_id)
    ORDER BY k.turn, k.scope, k.period
    ON CONFLICT (scope, period) DO UPDATE SET tokens = u.tokens
    RETURNING u.scope, u.period, u.tokens, u.cost_micros
  )
  SELECT array_agg(scope), array_agg(period), array_agg(tokens), array_agg(cost_micros), array_agg(false) INTO v_scopes, v_periods, v_tokens, v_micros, v_reserved FROM locked;
  SELECT array_agg(l.slot ORDER BY k.entry) INTO v_slot
  FROM unnest(p_scopes, p_periods) WITH ORDINALITY AS k(scope, period, entry)
  JOIN unnest(v_scopes, v_periods) WITH ORDINALITY AS l(scope, period, slot) ON l.scope = k.scope AND l.period = k.period;

  FOR c IN 1 .. coalesce(array_length(p_first, 1), 0) LOOP
    v_output := p_output_max[c];
    v_binding := 0;
    FOR i IN p_first[c] .. p_last[c] LOOP
      s := v_slot[i];
      IF p_token_limits[i] IS NOT NULL THEN
        v_fits := p_token_limits[i] - v_tokens[s] - p_prompt_tokens[c];
        IF v_fits < v_output THEN v_output := v_fits; v_binding := i - p_first[c] + 1; END IF;
      END IF;
      IF p_micros_limits[i] IS NOT NULL THEN
        -- The most output whose rounded cost still fits what the budget leaves.
        v_fits := CASE
          WHEN p_output_price[c] > 0 THEN floor(((p_micros_limits[i] - v_micros[s] + 1)::numeric * 1000000 - p_prompt_scaled[c] - 500001) / p_output_price[c])
          WHEN v_micros[s] + floor((p_prompt_scaled[c] + 500000) / 1000000) <= p_micros_limits[i] THEN v_output
          ELSE -1
        END;
        IF v_fits < v_output THEN v_output := v_fits; v_binding := i - p_first[c] + 1; END IF;
      END IF;
    END LOOP;
    call_index := c;
    IF v_output < p_output_min[c] THEN
      counters := ARRAY[-1, v_binding]::bigint[];
    ELSE
      v_reserved_micros := floor((p_prompt_scaled[c] + v_output::numeric * p_output_price[c] + 500000) / 1000000);
      v_after := ARRAY[v_output, v_reserved_micros];
      FOR i IN p_first[c] .. p_last[c] LOOP
        s := v_slot[i];
        v_tokens[s] := v_tokens[s] + p_prompt_tokens[c] + v_output;
        v_micros[s] := v_micros[s] + v_reserved_micros;
        v_reserved[s] := true;
        v_after := v_after || v_tokens[s] || v_micros[s];
      END LOOP;
      counters := v_after;
    END IF;
    RETURN NEXT;
  END LOOP;

  -- Every counter is locked since the first step: what it holds now is what was read there plus the batch's calls.
  -- (One UPDATE a counter: for a lone call, about 0.1 ms less than one UPDATE joined to the arrays.)
  FOR s IN 1 .. coalesce(array_length(v_scopes, 1), 0) LOOP
    IF v_reserved[s] THEN
      UPDATE usage_counters SET tokens = v_tokens[s], cost_micros = v_micros[s] WHERE scope = v_scopes[s] AND period = v_periods[s];
    END IF;
  END LOOP;
END;
$$;
