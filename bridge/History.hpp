/*
 * promptdaw bridge: the last results of the session (browse back, keep favourites), saved with
 * the project as the `history` state. Non-real-time threads only; the owner locks.
 */

#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "Clip.hpp"

namespace promptdaw {

class History {
public:
    /** Results kept besides favourites: a loop with stems is megabytes of state each. */
    static constexpr size_t kMaxRecent = 8;
    static constexpr size_t kMaxFavourites = 8;

    struct Entry {
        std::shared_ptr<const ClipData> clip;
        std::string text;  ///< the clip's state text (clipToState)
        bool favourite = false;
    };

    /** A new result: appended and made current. Past kMaxRecent the oldest non-favourite goes. */
    void add(std::shared_ptr<const ClipData> clip, std::string text);
    /** Makes the entry `step` away current (-1 back, +1 forward); false (nothing changes) past an end. */
    bool move(int step);
    /** Marks or unmarks the current entry; false without one, or when kMaxFavourites are kept already. */
    bool setFavourite(bool favourite);

    /** The current entry, or nullptr when there is none. */
    const Entry* current() const noexcept;
    size_t size() const noexcept { return fEntries.size(); }
    /** 0-based index of the current entry; -1 when empty. */
    int index() const noexcept { return fIndex; }
    size_t favourites() const noexcept;

    /** The `history` state: {"format": "promptdaw-history", "version": 1, "index", "entries":
        [{"favourite", "clip": <clip state>}]}; "" when empty. */
    std::string toState() const;
    /** Reads toState()'s text ("" = empty); on failure returns false, says why and keeps the history. */
    bool fromState(std::string_view text, std::string& problem);

private:
    std::vector<Entry> fEntries;
    int fIndex = -1;
};

} // namespace promptdaw
