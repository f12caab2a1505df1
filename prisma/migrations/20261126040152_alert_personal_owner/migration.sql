-- AlterTable
ALTER TABLE "alerts" ADD COLUMN     "personal_owner_id" TEXT;
