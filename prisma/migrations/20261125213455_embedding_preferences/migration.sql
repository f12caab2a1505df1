-- AlterTable
ALTER TABLE "preferences" ADD COLUMN     "embedding_model" TEXT,
ADD COLUMN     "embedding_provider_id" UUID;
