-- Routing strategies: a workspace's (PRIORITY, today's order, by default) and
-- an agent preference's own (null: the workspace's).
CREATE TYPE "RoutingStrategy" AS ENUM ('PRIORITY', 'CHEAPEST', 'FASTEST');

ALTER TABLE "preferences" ADD COLUMN "routing_strategy" "RoutingStrategy" NOT NULL DEFAULT 'PRIORITY';

ALTER TABLE "agent_preferences" ADD COLUMN "routing_strategy" "RoutingStrategy";
