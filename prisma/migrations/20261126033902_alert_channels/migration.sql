-- CreateEnum
CREATE TYPE "AlertChannelType" AS ENUM ('WEBHOOK', 'SLACK');

-- CreateEnum
CREATE TYPE "DeliveryState" AS ENUM ('OK', 'RETRYING', 'DEAD');

-- CreateTable
CREATE TABLE "alert_channels" (
    "id" UUID NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "type" "AlertChannelType" NOT NULL,
    "name" TEXT NOT NULL,
    "url_host" TEXT NOT NULL,
    "sealed_target" BYTEA NOT NULL,
    "key_id" TEXT NOT NULL,
    "kinds" "AlertKind"[],
    "state" "DeliveryState" NOT NULL DEFAULT 'OK',
    "last_delivered_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_channels_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alert_deliveries" (
    "id" UUID NOT NULL,
    "alert_id" UUID NOT NULL,
    "channel_id" UUID NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL,
    "delivered_at" TIMESTAMPTZ(3),
    "dead_at" TIMESTAMPTZ(3),
    "last_error" TEXT,

    CONSTRAINT "alert_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "alert_channels_workspace_id_created_at_idx" ON "alert_channels"("workspace_id", "created_at");

-- CreateIndex
CREATE INDEX "alert_deliveries_next_attempt_at_idx" ON "alert_deliveries"("next_attempt_at");

-- CreateIndex
CREATE UNIQUE INDEX "alert_deliveries_alert_id_channel_id_key" ON "alert_deliveries"("alert_id", "channel_id");

-- AddForeignKey
ALTER TABLE "alert_channels" ADD CONSTRAINT "alert_channels_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "alert_deliveries" ADD CONSTRAINT "alert_deliveries_alert_id_fkey" FOREIGN KEY ("alert_id") REFERENCES "alerts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "alert_deliveries" ADD CONSTRAINT "alert_deliveries_channel_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "alert_channels"("id") ON DELETE CASCADE ON UPDATE CASCADE;
