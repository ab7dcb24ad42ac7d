/*
 * promptdaw bridge: standard base64 (RFC 4648, with padding) for clips kept in plugin state.
 */

#pragma once

#include <string>
#include <string_view>

namespace promptdaw {

/** Encodes bytes as base64 text. */
std::string base64Encode(std::string_view bytes);

/** Decodes base64 text (whitespace ignored); returns false on any other invalid character. */
bool base64Decode(std::string_view text, std::string& bytes);

} // namespace promptdaw
