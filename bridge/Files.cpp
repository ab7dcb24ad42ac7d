/*
 * promptdaw bridge: files and processes (see Files.hpp).
 */

#include "Files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace promptdaw {

namespace {

std::string home()
{
    const char* h = std::getenv("HOME");
    return h != nullptr && h[0] != '\0' ? std::string(h) : std::string("/tmp");
}

std::string xdg(const char* variable, const char* fallback)
{
    const char* v = std::getenv(variable);
    return v != nullptr && v[0] == '/' ? std::string(v) : home() + fallback;
}

void put16(std::string& s, uint16_t v)
{
    s += char(v & 0xff);
    s += char(v >> 8);
}

void put32(std::string& s, uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        s += char((v >> (8 * i)) & 0xff);
}

/** 'text' for /bin/sh, single quotes escaped. */
std::string shellQuote(const std::string& text)
{
    std::string quoted = "'";
    for (const char c : text)
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

bool exists(const std::string& path)
{
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

} // namespace

std::string defaultLibraryDir() { return xdg("XDG_DATA_HOME", "/.local/share") + "/promptdaw/library"; }

std::string stateDir() { return xdg("XDG_STATE_HOME", "/.local/state") + "/promptdaw"; }

bool makeDirs(const std::string& path, std::string& error)
{
    if (path.empty())
    {
        error = "empty folder name";
        return false;
    }
    for (size_t i = 1; i <= path.size(); ++i)
    {
        if (i != path.size() && path[i] != '/')
            continue;
        const std::string part = path.substr(0, i);
        if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
        {
            error = "cannot create " + part + ": " + std::strerror(errno);
            return false;
        }
    }
    return true;
}

bool writeFile(const std::string& path, const std::string& bytes, std::string& error)
{
    const std::string tmp = path + ".part";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr)
    {
        error = "cannot write " + path + ": " + std::strerror(errno);
        return false;
    }
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !ok || std::rename(tmp.c_str(), path.c_str()) != 0)
    {
        error = "cannot write " + path + ": " + std::strerror(errno);
        std::remove(tmp.c_str());
        return false;
    }
    return true;
}

bool writeWav(const std::string& path, const float* interleaved, uint32_t frames, uint32_t channelCount,
              uint32_t sampleRate, std::string& error)
{
    if (frames == 0 || channelCount == 0)
    {
        error = "no audio to write";
        return false;
    }
    const uint16_t channels = uint16_t(channelCount);
    const uint32_t dataBytes = frames * channels * 4u;
    std::string wav;
    wav.reserve(58 + dataBytes);
    wav += "RIFF";
    put32(wav, 50 + dataBytes);
    wav += "WAVE";
    wav += "fmt ";
    put32(wav, 18);
    put16(wav, 3); // WAVE_FORMAT_IEEE_FLOAT
    put16(wav, channels);
    put32(wav, sampleRate);
    put32(wav, sampleRate * channels * 4u);
    put16(wav, uint16_t(channels * 4));
    put16(wav, 32);
    put16(wav, 0);
    wav += "fact";
    put32(wav, 4);
    put32(wav, frames);
    wav += "data";
    put32(wav, dataBytes);
    wav.append(reinterpret_cast<const char*>(interleaved), size_t(dataBytes));
    return writeFile(path, wav, error);
}

std::string slugify(const std::string& text)
{
    std::string slug;
    for (const char c : text)
    {
        const unsigned char u = static_cast<unsigned char>(c);
        if ((u >= 'a' && u <= 'z') || (u >= '0' && u <= '9'))
            slug += c;
        else if (u >= 'A' && u <= 'Z')
            slug += char(u - 'A' + 'a');
        else if (!slug.empty() && slug.back() != '-')
            slug += '-';
        if (slug.size() >= 48)
            break;
    }
    while (!slug.empty() && slug.back() == '-')
        slug.pop_back();
    return slug.empty() ? std::string("clip") : slug;
}

bool exportClip(const ClipData& clip, const std::string& dir, std::vector<std::string>& paths, std::string& error)
{
    paths.clear();
    if (clip.kind == ClipKind::None)
    {
        error = "nothing to export yet: generate a clip first";
        return false;
    }
    if (!makeDirs(dir, error))
        return false;
    std::string stem = dir + "/" + slugify(clip.prompt) + "-" + clipKindName(clip.kind);
    if (clip.seed >= 0)
        stem += "-" + std::to_string(clip.seed);
    std::string base = stem;
    for (int n = 2; exists(base + ".wav") || exists(base + ".mid"); ++n)
        base = stem + "-" + std::to_string(n);
    if (clip.hasAudio())
    {
        const std::vector<float> samples = interleavedAudio(clip);
        if (!writeWav(base + ".wav", samples.data(), clip.frames, clip.channels, clip.sampleRate, error))
            return false;
        paths.push_back(base + ".wav");
    }
    if (clip.hasMidi())
    {
        if (!writeFile(base + ".mid", clip.smf, error))
            return false;
        paths.push_back(base + ".mid");
    }
    for (const Stem& stem : clip.stems)
    {
        const std::string path = base + "-" + slugify(stem.name) + ".wav";
        if (!writeWav(path, stem.interleaved.data(), stem.frames, stem.channels, stem.sampleRate, error))
            return false;
        paths.push_back(path);
    }
    return true;
}

bool spawnDetached(const std::string& command, const std::string& endpoint, const std::string& logPath,
                   std::string& error)
{
    std::string cmd = command;
    for (size_t at; (at = cmd.find("{endpoint}")) != std::string::npos;)
        cmd.replace(at, 10, endpoint);
    if (cmd.find_first_not_of(" \t") == std::string::npos)
    {
        error = "no daemon command is configured";
        return false;
    }
    // The shell starts the command in the background and exits at once; the daemon is then
    // adopted by init and outlives the host, like `promptdaw serve` started by hand.
    const std::string script = "exec >>" + shellQuote(logPath) + " 2>&1 </dev/null; " + cmd + " &";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    // Do not leak the host's descriptors (audio devices, sockets) into the daemon.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
    char* const argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"), const_cast<char*>(script.c_str()),
                          nullptr};
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0)
    {
        error = std::string("cannot start the daemon: ") + std::strerror(rc);
        return false;
    }
    int status = 0;
    ::waitpid(pid, &status, 0); // the shell only forks the command and exits
    return true;
}

} // namespace promptdaw
