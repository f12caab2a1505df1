// The stamp `npm run build` leaves in dist/: a hash of every input of its last
// whole build, which lets the next one skip building. Whatever else writes a
// bundle (the test runs' setup bundles the console and the server of the
// sources as they are at that moment) removes the stamp first, so the next
// `npm run build` builds again rather than keep bundles of other sources.
import { rm } from 'node:fs/promises';
import path from 'node:path';

export const BUILD_STAMP = path.resolve(import.meta.dirname, '../dist/build-inputs.sha256');

export function forgetBuildStamp(): Promise<void> {
  return rm(BUILD_STAMP, { force: true });
}
