-- A refusal as a value: try_reserve_usage_counters is reserve_usage_counters
-- (20261125160000_reserve_output_allowance) returning ARRAY[-1, <the binding
-- limit's position>] where that one raises LIMIT_EXCEEDED, so that one
-- statement can reserve for several calls (group commit) and refuse some of
-- them without failing the others. reserve_usage_counters stays, for the
-- previous release during a rolling deploy, as the same function raising on a
-- refusal.

CREATE FUNCTION try_reserve_usage_counters(
  p_workspace text,
  p_scopes text[],
  p_periods text[],
  p_prompt_tokens bigint,
  p_prompt_scaled numeric,
  p_output_price bigint,
  p_output_max bigint,
  p_output_min bigint,
  p_token_limits bigint[],
  p_micros_limits bigint[]
) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
  i integer;
  v_tokens bigint;
  v_micros bigint;
  -- numeric: a budget's room in micro-dollars times a million passes bigint's range for large budgets.
  v_fits numeric;
  v_output bigint := p_output_max;
  v_binding integer := 0;
  v_reserved_micros bigint;
  v_after bigint[] := ARRAY[]::bigint[];
BEGIN
  FOR i IN 1 .. array_length(p_scopes, 1) LOOP
    INSERT INTO usage_counters AS c (scope, period, workspace_id, tokens, cost_micros, requests)
    VALUES (p_scopes[i], p_periods[i], p_workspace, 0, 0, 0)
    ON CONFLICT (scope, period) DO UPDATE SET tokens = c.tokens
    RETURNING c.tokens, c.cost_micros INTO v_tokens, v_micros;
    IF p_token_limits[i] IS NOT NULL THEN
      v_fits := p_token_limits[i] - v_tokens - p_prompt_tokens;
      IF v_fits < v_output THEN v_output := v_fits; v_binding := i; END IF;
    END IF;
    IF p_micros_limits[i] IS NOT NULL THEN
      -- The most output whose rounded cost still fits what the budget leaves.
      v_fits := CASE
        WHEN p_output_price > 0 THEN floor(((p_micros_limits[i] - v_micros + 1)::numeric * 1000000 - p_prompt_scaled - 500001) / p_output_price)
        WHEN v_micros + floor((p_prompt_scaled + 500000) / 1000000) <= p_micros_limits[i] THEN v_output
        ELSE -1
      END;
      IF v_fits < v_output THEN v_output := v_fits; v_binding := i; END IF;
    END IF;
  END LOOP;
  IF v_output < p_output_min THEN
    RETURN ARRAY[-1, v_binding]::bigint[];
  END IF;
  v_reserved_micros := floor((p_prompt_scaled + v_output::numeric * p_output_price + 500000) / 1000000);
  FOR i IN 1 .. array_length(p_scopes, 1) LOOP
    UPDATE usage_counters SET tokens = tokens + p_prompt_tokens + v_output, cost_micros = cost_micros + v_reserved_micros
    WHERE scope = p_scopes[i] AND period = p_periods[i]
    RETURNING tokens, cost_micros INTO v_tokens, v_micros;
    v_after := v_after || v_tokens || v_micros;
  END LOOP;
  RETURN ARRAY[v_output, v_reserved_micros] || v_after;
END;
$$;

CREATE OR REPLACE FUNCTION reserve_usage_counters(
  p_workspace text,
  p_scopes text[],
  p_periods text[],
  p_prompt_tokens bigint,
  p_prompt_scaled numeric,
  p_output_price bigint,
  p_output_max bigint,
  p_output_min bigint,
  p_token_limits bigint[],
  p_micros_limits bigint[]
) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
  v_result bigint[];
BEGIN
  v_result := try_reserve_usage_counters(p_workspace, p_scopes, p_periods, p_prompt_tokens, p_prompt_scaled, p_output_price,
    p_output_max, p_output_min, p_token_limits, p_micros_limits);
  IF v_result[1] < 0 THEN
    RAISE EXCEPTION 'LIMIT_EXCEEDED' USING ERRCODE = 'P0001', DETAIL = v_result[2]::text;
  END IF;
  RETURN v_result;
END;
$$;
