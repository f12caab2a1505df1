-- AlterTable
ALTER TABLE "usage_events" ADD COLUMN     "api_key_id" UUID;
