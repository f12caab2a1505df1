-- DropIndex
DROP INDEX "alert_deliveries_next_attempt_at_idx";

-- CreateIndex
CREATE INDEX "alert_deliveries_delivered_at_dead_at_next_attempt_at_idx" ON "alert_deliveries"("delivered_at", "dead_at", "next_attempt_at");

-- CreateIndex
CREATE INDEX "alert_deliveries_channel_id_idx" ON "alert_deliveries"("channel_id");
