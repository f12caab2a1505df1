-- AlterEnum
ALTER TYPE "ChatRole" ADD VALUE 'TOOL';

-- AlterTable
ALTER TABLE "chat_messages" ADD COLUMN     "parts" JSONB;
