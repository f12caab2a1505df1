-- Reservation guards: adds the estimate of a call to each counter it touches,
-- and only if every limit still holds. One conditional upsert per counter; the
-- first that would pass its limit raises LIMIT_EXCEEDED (DETAIL: its position
-- in the arrays), which aborts the calling statement, so nothing is reserved.
-- A NULL limit means no limit on that counter. Returns each counter after the
-- reservation: tokens and micro-dollars, in the order of the arrays.
CREATE FUNCTION reserve_usage_counters(
  p_workspace text,
  p_scopes text[],
  p_periods text[],
  p_tokens bigint,
  p_micros bigint,
  p_token_limits bigint[],
  p_micros_limits bigint[]
) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
  i integer;
  v_tokens bigint;
  v_micros bigint;
  v_after bigint[] := ARRAY[]::bigint[];
BEGIN
  FOR i IN 1 .. array_length(p_scopes, 1) LOOP
    INSERT INTO usage_counters AS c (scope, period, workspace_id, tokens, cost_micros, requests)
    VALUES (p_scopes[i], p_periods[i], p_workspace, p_tokens, p_micros, 0)
    ON CONFLICT (scope, period) DO UPDATE
      SET tokens = c.tokens + EXCLUDED.tokens, cost_micros = c.cost_micros + EXCLUDED.cost_micros
      WHERE (p_token_limits[i] IS NULL OR c.tokens + EXCLUDED.tokens <= p_token_limits[i])
        AND (p_micros_limits[i] IS NULL OR c.cost_micros + EXCLUDED.cost_micros <= p_micros_limits[i])
    RETURNING c.tokens, c.cost_micros INTO v_tokens, v_micros;
    IF NOT FOUND
       OR (p_token_limits[i] IS NOT NULL AND v_tokens > p_token_limits[i])
       OR (p_micros_limits[i] IS NOT NULL AND v_micros > p_micros_limits[i]) THEN
      RAISE EXCEPTION 'LIMIT_EXCEEDED' USING ERRCODE = 'P0001', DETAIL = i::text;
    END IF;
    v_after := v_after || v_tokens || v_micros;
  END LOOP;
  RETURN v_after;
END;
$$;
