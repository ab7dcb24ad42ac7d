/*
 * promptdaw bridge: lock-free hand-over between the audio thread and the other threads.
 *
 * ClipExchange: the worker (or a host thread restoring state) publishes a new clip; the audio
 * thread picks it up at the start of run() with one atomic exchange and hands the clip it
 * played before back through a second slot, so that it is freed off the audio thread. Each
 * slot has one writer and one reader (producers serialize among themselves with their own,
 * non-real-time mutex). The audio thread never allocates, frees, locks or waits here.
 *
 * TransportMailbox: the audio thread writes the host transport each block (a sequence lock
 * over atomics); the worker reads a consistent copy when it builds a request. Tempo and meter
 * are the last the host gave: a block without them (some hosts send them only while playing)
 * keeps those of an earlier one.
 */

#pragma once

#include <atomic>
#include <memory>

#include "Clip.hpp"
#include "Engine.hpp"

namespace promptdaw {

/** What the audio thread holds: a reference to immutable clip data. */
struct ClipHandle {
    std::shared_ptr<const ClipData> data;
};

class ClipExchange {
public:
    ClipExchange() = default;
    ClipExchange(const ClipExchange&) = delete;
    ClipExchange& operator=(const ClipExchange&) = delete;
    ~ClipExchange()
    {
        delete fPending.exchange(nullptr);
        delete fRetired.exchange(nullptr);
    }

    /** Producer: queue `handle` (owned from now on). A queued clip the audio thread never
        took is replaced and freed here. Not real-time safe (frees memory). */
    void publish(ClipHandle* handle)
    {
        collectGarbage();
        delete fPending.exchange(handle, std::memory_order_acq_rel);
    }

    /** Producer: free the clip the audio thread gave back, if any. */
    void collectGarbage() { delete fRetired.exchange(nullptr, std::memory_order_acq_rel); }

    /** Audio thread: returns the clip to play from now on: a newly published one (then
        `current` is given back for freeing) or `current`. Wait-free. */
    ClipHandle* take(ClipHandle* current) noexcept
    {
        if (fPending.load(std::memory_order_acquire) == nullptr)
            return current;
        // The give-back slot must be empty: until the producer frees the last clip, keep playing.
        if (current != nullptr && fRetired.load(std::memory_order_acquire) != nullptr)
            return current;
        ClipHandle* next = fPending.exchange(nullptr, std::memory_order_acq_rel);
        if (next == nullptr)
            return current;
        if (current != nullptr)
            fRetired.store(current, std::memory_order_release);
        return next;
    }

private:
    std::atomic<ClipHandle*> fPending{nullptr};
    std::atomic<ClipHandle*> fRetired{nullptr};
    static_assert(std::atomic<ClipHandle*>::is_always_lock_free, "the clip hand-over must be lock-free");
};

class TransportMailbox {
public:
    /** Audio thread: record the transport of this block. Wait-free. */
    void write(const TransportInfo& t, double sampleRate) noexcept
    {
        const uint32_t s = fSequence.load(std::memory_order_relaxed);
        fSequence.store(s + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        fPlaying.store(t.playing, std::memory_order_relaxed);
        fBbtValid.store(t.bbtValid, std::memory_order_relaxed);
        if (t.bbtValid && t.bpm > 0.0 && t.beatsPerBar > 0.0 && t.beatType > 0.0)
        {
            fTempoKnown.store(true, std::memory_order_relaxed);
            fBpm.store(t.bpm, std::memory_order_relaxed);
            fBeatsPerBar.store(t.beatsPerBar, std::memory_order_relaxed);
            fBeatType.store(t.beatType, std::memory_order_relaxed);
        }
        fBar.store(t.bar, std::memory_order_relaxed);
        fBeat.store(t.beat, std::memory_order_relaxed);
        fSampleRate.store(sampleRate, std::memory_order_relaxed);
        fSequence.store(s + 2, std::memory_order_release);
    }

    /** Any other thread: a consistent copy; false when the audio thread never ran. */
    bool read(TransportInfo& t, double& sampleRate) const noexcept
    {
        for (int attempt = 0; attempt < 1000; ++attempt)
        {
            const uint32_t before = fSequence.load(std::memory_order_acquire);
            if (before == 0)
                return false;
            if (before & 1u)
                continue;
            t.playing = fPlaying.load(std::memory_order_relaxed);
            t.bbtValid = fBbtValid.load(std::memory_order_relaxed);
            t.tempoKnown = fTempoKnown.load(std::memory_order_relaxed);
            t.bpm = fBpm.load(std::memory_order_relaxed);
            t.beatsPerBar = fBeatsPerBar.load(std::memory_order_relaxed);
            t.beatType = fBeatType.load(std::memory_order_relaxed);
            t.bar = fBar.load(std::memory_order_relaxed);
            t.beat = fBeat.load(std::memory_order_relaxed);
            sampleRate = fSampleRate.load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (fSequence.load(std::memory_order_relaxed) == before)
                return true;
        }
        return false;
    }

private:
    std::atomic<uint32_t> fSequence{0};
    std::atomic<bool> fPlaying{false}, fBbtValid{false}, fTempoKnown{false};
    std::atomic<double> fBpm{120.0}, fBeatsPerBar{4.0}, fBeatType{4.0}, fSampleRate{0.0};
    std::atomic<int32_t> fBar{1}, fBeat{1};
};

} // namespace promptdaw
