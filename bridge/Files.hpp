/*
 * promptdaw bridge: everything that touches the file system or starts processes (never
 * called on the audio thread): the export library, WAV/MID files, starting the daemon.
 */

#pragma once

#include <string>
#include <vector>

#include "Clip.hpp"

namespace promptdaw {

/** $XDG_DATA_HOME/promptdaw/library, else ~/.local/share/promptdaw/library. */
std::string defaultLibraryDir();

/** $XDG_STATE_HOME/promptdaw, else ~/.local/state/promptdaw (the daemon log goes there). */
std::string stateDir();

/** mkdir -p. */
bool makeDirs(const std::string& path, std::string& error);

/** Writes interleaved float samples as a 32-bit float WAV file (exactly these samples). */
bool writeWav(const std::string& path, const float* interleaved, uint32_t frames, uint32_t channels,
              uint32_t sampleRate, std::string& error);

/** Writes bytes to a file (through a temporary name, so readers never see half a file). */
bool writeFile(const std::string& path, const std::string& bytes, std::string& error);

/** "Dusty lo-fi drums, 90 BPM!" -> "dusty-lo-fi-drums-90-bpm" (at most 48 characters). */
std::string slugify(const std::string& text);

/** Writes the clip into `dir` as <slug>-<kind>-<seed>.wav and/or .mid, and each stem as
    <slug>-<kind>-<seed>-<stem>.wav (never overwriting: a numeric suffix is added); `paths`
    receives what was written. */
bool exportClip(const ClipData& clip, const std::string& dir, std::vector<std::string>& paths, std::string& error);

/** Starts `command` (run by /bin/sh, "{endpoint}" replaced) detached from the host, output
    appended to `logPath`. Returns as soon as it is started. */
bool spawnDetached(const std::string& command, const std::string& endpoint, const std::string& logPath,
                   std::string& error);

} // namespace promptdaw
