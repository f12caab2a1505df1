-- What OpenRouter's list says each model can do (tools, vision, json, reasoning),
-- read from its supported_parameters and input_modalities. Rows stored before
-- keep NULL: the catalog does not say, so no call is refused for them (they had
-- been listed with "streaming" only, which refused every tool call, image and
-- JSON request naming such a model).
ALTER TABLE "catalog_models" ADD COLUMN "capabilities" TEXT[];
