// Renders conversations with llama.cpp's own built-in chat templates (src/llama-chat.cpp, the
// llama.cpp that node-llama-cpp 3.21.1 bundles) and prints them as JSON: the golden for dusk's
// built-in --chat-template names (test/fixtures/chat-template-golden.json).
//
//   sh scripts/chat-templates/make-golden.sh (from the repository root)
#include "llama.h"
#include "llama-chat.h"
#include <cstdio>
#include <string>
#include <vector>

static std::string json(const std::string & s) {
    std::string o = "\"";
    for (unsigned char c : s) {
        if (c == '"') o += "\\\"";
        else if (c == '\\') o += "\\\\";
        else if (c == '\n') o += "\\n";
        else if (c < 0x20) { char b[8]; snprintf(b, sizeof b, "\\u%04x", c); o += b; }
        else o += (char) c;
    }
    return o + "\"";
}

int main() {
    const std::vector<std::vector<llama_chat_message>> chats = {
        { { "user", "Hello" } },
        { { "system", "You are terse." }, { "user", "Hi" }, { "assistant", "Hello!" }, { "user", "Name a colour." } },
        { { "user", "One" }, { "assistant", "  spaced reply  " }, { "user", "Two" } },
    };
    const char * names[] = { "chatml", "llama2", "llama2-sys", "llama3", "gemma", "phi3", "mistral-v1", "mistral-v7", "zephyr", "vicuna", "mistral" };
    printf("{\n  \"chats\": [");
    for (size_t c = 0; c < chats.size(); c++) {
        printf("%s\n    [", c ? "," : "");
        for (size_t m = 0; m < chats[c].size(); m++) printf("%s{\"role\": %s, \"content\": %s}", m ? ", " : "", json(chats[c][m].role).c_str(), json(chats[c][m].content).c_str());
        printf("]");
    }
    printf("\n  ],\n  \"rendered\": {");
    for (size_t n = 0; n < sizeof names / sizeof *names; n++) {
        llm_chat_template t = llm_chat_detect_template(names[n]);
        printf("%s\n    %s: [", n ? "," : "", json(names[n]).c_str());
        for (size_t c = 0; c < chats.size(); c++) {
            std::vector<const llama_chat_message *> ptrs;
            for (auto & m : chats[c]) ptrs.push_back(&m);
            std::string out;
            llm_chat_apply_template(t, ptrs, out, true);
            printf("%s%s", c ? ", " : "", json(out).c_str());
        }
        printf("]");
    }
    printf("\n  }\n}\n");
}
