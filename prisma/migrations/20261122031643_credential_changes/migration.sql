-- CreateTable
CREATE TABLE "credential_changes" (
    "id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "credential_changes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "credential_changes_user_id_at_idx" ON "credential_changes"("user_id", "at");
