/*
 * promptdaw bridge: CurveZMQ keys (see Curve.hpp).
 */

#include "Curve.hpp"

#include <cstdlib>
#include <fstream>

namespace promptdaw {

namespace {
constexpr size_t kZ85KeyLength = 40;

std::string envOr(const char* name)
{
    const char* value = std::getenv(name);
    return value != nullptr ? std::string(value) : std::string();
}

/** The quoted value of `name = "value"` on a certificate line, or "" when the line is not it. */
std::string quotedValue(const std::string& line, const std::string& name)
{
    const size_t at = line.find_first_not_of(" \t");
    if (at == std::string::npos || line.compare(at, name.size(), name) != 0)
        return {};
    const size_t open = line.find('"', at + name.size());
    const size_t close = open == std::string::npos ? open : line.find('"', open + 1);
    return close == std::string::npos ? std::string() : line.substr(open + 1, close - open - 1);
}
} // namespace

bool isLoopbackEndpoint(const std::string& endpoint)
{
    if (endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0)
        return true;
    if (endpoint.rfind("tcp://", 0) != 0)
        return false;
    std::string host = endpoint.substr(6);
    if (!host.empty() && host[0] == '[')  // tcp://[::1]:port
        host = host.substr(1, host.find(']') == std::string::npos ? std::string::npos : host.find(']') - 1);
    else
        host = host.substr(0, host.rfind(':'));
    const bool dottedQuad = !host.empty() && host.find_first_not_of("0123456789.") == std::string::npos;
    return host == "localhost" || host == "::1" || (dottedQuad && host.rfind("127.", 0) == 0);
}

bool readCertificate(const std::string& path, std::string& publicKey, std::string& secretKey, std::string& error)
{
    std::ifstream file(path);
    if (!file)
    {
        error = "cannot read the CurveZMQ certificate " + path;
        return false;
    }
    publicKey.clear();
    secretKey.clear();
    for (std::string line; std::getline(file, line);)
    {
        if (const std::string value = quotedValue(line, "public-key"); !value.empty())
            publicKey = value;
        else if (const std::string value = quotedValue(line, "secret-key"); !value.empty())
            secretKey = value;
    }
    if (publicKey.size() != kZ85KeyLength || (!secretKey.empty() && secretKey.size() != kZ85KeyLength))
    {
        error = path + " is not a ZeroMQ certificate (no 40-character Z85 public-key; make keys with `promptdaw keys DIR`)";
        return false;
    }
    return true;
}

bool loadCurveKeys(const std::string& serverKeyFile, const std::string& clientKeyFile, CurveKeys& keys,
                   std::string& error)
{
    std::string ignored;
    CurveKeys loaded;
    if (!readCertificate(serverKeyFile, loaded.serverPublic, ignored, error)
        || !readCertificate(clientKeyFile, loaded.clientPublic, loaded.clientSecret, error))
        return false;
    if (loaded.clientSecret.empty())
    {
        error = clientKeyFile + " holds no secret key (pass the client's .key_secret file)";
        return false;
    }
    keys = loaded;
    return true;
}

bool curveKeysFromEnvironment(CurveKeys& keys, std::string& error)
{
    const std::string server = envOr("PROMPTDAW_SERVER_KEY"), client = envOr("PROMPTDAW_CLIENT_KEY");
    keys = CurveKeys();
    if (server.empty() && client.empty())
        return true;
    if (server.empty() || client.empty())
    {
        error = "CurveZMQ needs both PROMPTDAW_SERVER_KEY and PROMPTDAW_CLIENT_KEY";
        return false;
    }
    return loadCurveKeys(server, client, keys, error);
}

} // namespace promptdaw
