/*
 * promptdaw bridge: the session's result history (see History.hpp).
 */

#include "History.hpp"

#include <algorithm>

namespace promptdaw {

void History::add(std::shared_ptr<const ClipData> clip, std::string text)
{
    fEntries.push_back({std::move(clip), std::move(text), false});
    fIndex = int(fEntries.size()) - 1;
    const auto recent = [this] {
        return size_t(std::count_if(fEntries.begin(), fEntries.end(), [](const Entry& e) { return !e.favourite; }));
    };
    while (recent() > kMaxRecent)
    {
        const auto oldest = std::find_if(fEntries.begin(), fEntries.end(), [](const Entry& e) { return !e.favourite; });
        if (int(oldest - fEntries.begin()) < fIndex)
            --fIndex;
        fEntries.erase(oldest);
    }
}

bool History::move(int step)
{
    const int next = fIndex + step;
    if (fEntries.empty() || next < 0 || next >= int(fEntries.size()))
        return false;
    fIndex = next;
    return true;
}

bool History::setFavourite(bool favourite)
{
    if (fIndex < 0)
        return false;
    Entry& entry = fEntries[size_t(fIndex)];
    if (favourite && !entry.favourite && favourites() >= kMaxFavourites)
        return false;
    entry.favourite = favourite;
    return true;
}

const History::Entry* History::current() const noexcept
{
    return fIndex >= 0 ? &fEntries[size_t(fIndex)] : nullptr;
}

size_t History::favourites() const noexcept
{
    return size_t(std::count_if(fEntries.begin(), fEntries.end(), [](const Entry& e) { return e.favourite; }));
}

std::string History::toState() const
{
    if (fEntries.empty())
        return std::string();
    // The clip texts are JSON objects already (megabytes for audio): spliced in, never re-parsed.
    std::string out = R"({"format": "promptdaw-history", "version": 1, "index": )" + std::to_string(fIndex)
                    + R"(, "entries": [)";
    for (size_t i = 0; i < fEntries.size(); ++i)
    {
        out += i == 0 ? "" : ", ";
        out += std::string(R"({"favourite": )") + (fEntries[i].favourite ? "true" : "false") + R"(, "clip": )";
        out += fEntries[i].text;
        out += "}";
    }
    return out + "]}";
}

bool History::fromState(std::string_view text, std::string& problem)
{
    if (text.empty())
    {
        fEntries.clear();
        fIndex = -1;
        return true;
    }
    const Json state = Json::parse(text.begin(), text.end(), nullptr, false);
    if (!state.is_object() || state.value("format", "") != "promptdaw-history" || !state.contains("entries")
        || !state["entries"].is_array())
    {
        problem = "the saved history is not a promptdaw-history object";
        return false;
    }
    std::vector<Entry> entries;
    for (const Json& item : state["entries"])
    {
        if (!item.is_object() || !item.contains("clip"))
        {
            problem = "an entry of the saved history has no clip";
            return false;
        }
        Entry entry;
        entry.text = item["clip"].dump();
        entry.favourite = item.value("favourite", false);
        auto clip = std::make_shared<ClipData>();
        if (!clipFromState(entry.text, *clip, problem))
        {
            problem = "a clip of the saved history: " + problem;
            return false;
        }
        entry.clip = std::move(clip);
        entries.push_back(std::move(entry));
    }
    const int index = state.value("index", int(entries.size()) - 1);
    fEntries = std::move(entries);
    fIndex = fEntries.empty() ? -1 : std::clamp(index, 0, int(fEntries.size()) - 1);
    return true;
}

} // namespace promptdaw
