/*
 * promptdaw bridge: identity and capabilities of the plugin, shared by the DSP and UI sides.
 *
 * The plugin is an instrument (MIDI in, MIDI out, stereo out) that asks the promptdaw daemon
 * for a sample, a loop or a MIDI clip and plays the result in sync with the host.
 */

#ifndef DISTRHO_PLUGIN_INFO_H_INCLUDED
#define DISTRHO_PLUGIN_INFO_H_INCLUDED

#define DISTRHO_PLUGIN_BRAND   "promptdaw"
#define DISTRHO_PLUGIN_NAME    "promptdaw"
#define DISTRHO_PLUGIN_URI     "urn:promptdaw:bridge"
#define DISTRHO_PLUGIN_CLAP_ID "org.promptdaw.bridge"

#define DISTRHO_PLUGIN_BRAND_ID  Pdaw
#define DISTRHO_PLUGIN_UNIQUE_ID PdBr

#define DISTRHO_PLUGIN_HAS_UI             1
#define DISTRHO_PLUGIN_IS_RT_SAFE         1
#define DISTRHO_PLUGIN_IS_SYNTH           1
#define DISTRHO_PLUGIN_NUM_INPUTS         0
#define DISTRHO_PLUGIN_NUM_OUTPUTS        2
#define DISTRHO_PLUGIN_WANT_MIDI_INPUT    1
#define DISTRHO_PLUGIN_WANT_MIDI_OUTPUT   1
#define DISTRHO_PLUGIN_WANT_TIMEPOS       1
#define DISTRHO_PLUGIN_WANT_STATE         1
// getState() is asked for every key when the host saves: the generated clip lives in the DSP.
#define DISTRHO_PLUGIN_WANT_FULL_STATE    1
// The UI reads a thread-safe status snapshot (text, preview) from the plugin's worker; DPF 1.6
// has no plugin-to-UI string channel for VST3. Commands still go UI -> DSP through states.
#define DISTRHO_PLUGIN_WANT_DIRECT_ACCESS 1
// VST3: no 2,080 hidden "MIDI Ch. n CC m" parameters (a switch our patch adds to DPF, see
// dpf-vst3-parameters.patch). MIDI CC does not reach the VST3 build; the plugin reads none but
// all-notes-off, which VST3 hosts replace by note-offs.
#define DPF_VST3_NO_MIDI_CC_PARAMETERS    1

#define DISTRHO_UI_USE_NANOVG     1
#define DISTRHO_UI_USER_RESIZABLE 0
#define DISTRHO_UI_FILE_BROWSER   0
#define DISTRHO_UI_DEFAULT_WIDTH  760
#define DISTRHO_UI_DEFAULT_HEIGHT 508

#define DISTRHO_PLUGIN_LV2_CATEGORY    "lv2:InstrumentPlugin"
#define DISTRHO_PLUGIN_VST3_CATEGORIES "Instrument|Generator"
#define DISTRHO_PLUGIN_CLAP_FEATURES   "instrument", "synthesizer", "sampler", "stereo"

/** Plugin parameters. Inputs first, then outputs the UI and host read. Hosts save and automate
    them by symbol (LV2, and DPF's VST3/CLAP state) or by index (VST3/CLAP automation): append new
    inputs before the outputs only with care, never reorder. */
enum Parameters {
    kParamGain = 0,    ///< output gain in dB
    kParamAudition,    ///< MIDI mode: play the clip through the built-in sound
    kParamGenerate,    ///< momentary: a rise from below 0.5 to 0.5 or more sends a request (automatable)
    kParamConnection,  ///< output: ConnectionState
    kParamJob,         ///< output: JobState
    kParamProgress,    ///< output: 0..1 of the running request
    kParamClipKind,    ///< output: ClipKind of the clip being played
    kParamPlayhead,    ///< output: 0..1 position inside the clip
    kParamHostBpm,     ///< output: the host's tempo that requests carry (the last it gave); 0 = none yet
    kParamCount
};

/** Plugin states (strings): settings and the clip, which hosts save; one-shot commands, which
    are never saved (getState() returns "" for them); the read-only status. PromptdawPlugin.cpp
    gives each its role. */
enum States {
    kStatePrompt = 0,    ///< the text prompt
    kStateMode,          ///< "sample", "loop" or "midi"
    kStateBars,          ///< bars of a loop or MIDI clip, "1".."32"
    kStateSeed,          ///< "" = a new random seed per request, else an integer
    kStateNote,          ///< Sample mode: the root note requested, e.g. "C3"
    kStateKey,           ///< optional key, e.g. "A minor"; "" = from the prompt
    kStateEndpoint,      ///< daemon endpoint; "" = $PROMPTDAW_ENDPOINT or tcp://127.0.0.1:7467
    kStateDaemonCommand, ///< command that starts a daemon; "{endpoint}" is substituted
    kStateAutostart,     ///< "1": start the daemon with that command when none answers
    kStateLibrary,       ///< export folder; "" = ~/.local/share/promptdaw/library
    kStateHostTempo,     ///< "1": send the host's tempo and meter with requests; "0": the prompt decides
    kStateRegenPart,     ///< Regenerate: a part's role ("drums", "bass", ...); "" or "all" = every part
    kStateRegenBars,     ///< Regenerate: "2" or "2-3" (1-based, inclusive); "" = the whole clip
    kStateDaemonKey,     ///< a remote daemon's signing key (its connection file's "key"); "" = read the file
    kStateClip,          ///< the generated clip itself (JSON with base64 audio/MIDI)
    kStateHistory,       ///< the session's last results and favourites (JSON, clips as in `clip`)
    kStateGenerate,      ///< command: any non-empty value sends a request with the settings above
                         ///< (the UI's button; hosts may also use the Generate parameter)
    kStateCancel,        ///< command: cancel the running request
    kStateExport,        ///< command: write the clip as WAV/MID into the library folder
    kStateConnect,       ///< command: check the daemon now (and start it if so configured)
    kStateRegenerate,    ///< command: regenerate-midi on the MIDI clip, the part and bars above new
    kStateHistoryBack,   ///< command: play the previous result of the history
    kStateHistoryForward,///< command: play the next result of the history
    kStateFavourite,     ///< command: "1" keeps the current result (never dropped), "0" unmarks it
    kStateStatus,        ///< read-only: JSON status of connection, request, clip, export
    kStateCount
};

enum ConnectionState { kConnUnknown = 0, kConnConnected, kConnUnreachable, kConnStarting };
enum JobState { kJobIdle = 0, kJobRunning, kJobDone, kJobFailed, kJobCancelled };

#endif // DISTRHO_PLUGIN_INFO_H_INCLUDED
