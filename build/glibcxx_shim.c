/* A no-op std::ios_base_library_init() for systems whose libstdc++ predates GCC 13.
   GCC 13 emits a call to it from every translation unit that includes <iostream>, so that the
   library initialises its standard streams; older libstdc++ does that by itself at load time.
   The patched libLibTorchSharp.so depends on this object (see build/TorchSharp.targets). */
void _ZSt21ios_base_library_initv(void) {}
