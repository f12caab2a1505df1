-- What the provider said a call cost (OpenRouter's usage.cost), beside ours: null when it said nothing.
-- A nullable column without a default: no table rewrite, and the previous release's finalize (which does not name it) still runs.
ALTER TABLE "usage_events" ADD COLUMN "provider_cost_micros" BIGINT;
