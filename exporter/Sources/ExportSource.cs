using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Runtime.Package;
using Sedd.Runtime.Text;

namespace Sedd.Exporter.Sources;

/// <summary>
/// A checkpoint of any supported kind, read without libtorch: the network's architecture and
/// weights (state_dict names, spec §5.8), its graph and noise schedule, and what is known about
/// where it came from. The exporter builds the package from this alone.
/// </summary>
public sealed record ExportSource
{
    /// <summary>"sedd-train" (this repository's trainer), "hf" (authors' hub layout) or "pth" (run_train.py checkpoint).</summary>
    public required string Kind { get; init; }

    /// <summary>The file or folder read.</summary>
    public required string Location { get; init; }

    /// <summary>Network sizes; <c>MaxLength</c> is the length the graph is exported for.</summary>
    public required ScoreNetworkArchitecture Architecture { get; init; }

    /// <summary>Parameters (and optionally the rotary buffer) by state_dict name.</summary>
    public required IReadOnlyDictionary<string, SafeTensor> Weights { get; init; }

    /// <summary>"absorb" or "uniform".</summary>
    public required string GraphType { get; init; }

    /// <summary>Real tokens V.</summary>
    public required int Tokens { get; init; }

    /// <summary>Noise schedule (spec §2).</summary>
    public required NoiseInfo Noise { get; init; }

    /// <summary>Block length the network was trained on.</summary>
    public required int TrainedLength { get; init; }

    /// <summary>Tokenizer spec string ("gpt2" or "gpt2-N").</summary>
    public required string Tokenizer { get; init; }

    /// <summary>"ema" or "online".</summary>
    public required string WeightsKind { get; init; }

    /// <summary>Training corpus, if known.</summary>
    public string? Corpus { get; init; }

    /// <summary>Optimiser steps, if known.</summary>
    public long? Steps { get; init; }

    /// <summary>Training tokens seen, if known.</summary>
    public long? TrainingTokens { get; init; }

    /// <summary>States D = V + 1 (absorb) or V (uniform).</summary>
    public int States => GraphType == "absorb" ? Tokens + 1 : Tokens;

    /// <summary>The noise schedule object (for σ_max of the verification inputs).</summary>
    public Runtime.Noise.NoiseSchedule Schedule() => Runtime.Noise.NoiseSchedule.Create(Noise.Type, Noise.SigmaMin ?? 1e-4, Noise.SigmaMax ?? 20);

    /// <summary>Manifest noise block: log-linear carries ε = 1e-3 (spec §2), geometric its σ range.</summary>
    /// <param name="type">Schedule kind.</param>
    /// <param name="sigmaMin">Geometric σ_min.</param>
    /// <param name="sigmaMax">Geometric σ_max.</param>
    public static NoiseInfo NoiseOf(string type, double sigmaMin, double sigmaMax) =>
        type == "geometric" ? new NoiseInfo { Type = type, SigmaMin = sigmaMin, SigmaMax = sigmaMax } : new NoiseInfo { Type = type, Eps = 1e-3 };

    /// <summary>
    /// The tokenizer spec whose vocabulary is <paramref name="tokens"/>: GPT-2 truncated to tokens − 1
    /// ranks plus EOS ("gpt2" for 50257). Below 257 tokens no tokenizer exists; the spec string is then
    /// out of range and the package writer refuses it with a clear message.
    /// </summary>
    /// <param name="tokens">Real tokens V.</param>
    public static string TokenizerFor(int tokens) => tokens == TokenizerSpec.Gpt2.VocabSize ? "gpt2" : $"gpt2-{tokens - 1}";
}
