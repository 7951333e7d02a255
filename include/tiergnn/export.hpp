#pragma once
// TIERGNN_API marks what libtiergnn exports: the classes and functions of <tiergnn/...>. Everything
// else in the library (tiergnn's internal modules, oneTBB, zlib, JSON) is hidden, so programs that
// embed it see the API and nothing else (and cannot clash with their own copies of those libraries).
#if defined(_WIN32)
#define TIERGNN_API
#else
#define TIERGNN_API __attribute__((visibility("default")))
#endif
