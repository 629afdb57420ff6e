namespace Sedd.Evidence;

/// <summary>
/// One sample set scored by the independent AR scorer, with how long it took to make. The headline is
/// the generative perplexity exp(m), m the mean over samples of each sample's log-perplexity (its NLL
/// per token under the scorer); its uncertainty is the standard error of m over the N samples, shown as
/// the interval exp(m ± 2 s.e.).
/// </summary>
/// <param name="Source">"sedd" (the package, sampled by the runtime), "ar" (the AR baseline's own samples) or "text" (held-out Brown test blocks).</param>
/// <param name="Predictor">"euler", "analytic" or "first-hitting" for SEDD; empty otherwise.</param>
/// <param name="Steps">Diffusion steps (Euler, analytic); for first-hitting and the AR the sequence length (one call per token); 0 for text.</param>
/// <param name="Samples">Sequences scored, N.</param>
/// <param name="Length">Tokens per sequence.</param>
/// <param name="MeanLogPerplexity">m: mean over samples of the per-token NLL (nats).</param>
/// <param name="StandardError">Standard error of m over the samples (sample standard deviation / √N).</param>
/// <param name="UnigramEntropy">Entropy (nats) of the pooled token frequencies of the set: low means repetition.</param>
/// <param name="MeanSampleEntropy">Mean over sequences of each sequence's own token entropy (nats).</param>
/// <param name="SecondsPerSample">Wall time per generated sequence (0 for text).</param>
/// <param name="NetworkCallsPerRun">SEDD: calls into ONNX Runtime per batch run; AR: decoding steps per batch.</param>
/// <param name="RowsPerSample">SEDD: network evaluations of one sequence per sample (exact caching skips a sequence whose tokens did not change).</param>
/// <param name="CachedRowsPerSample">SEDD: evaluations per sample answered from the cache instead.</param>
/// <param name="HostShare">SEDD: the host's share of the sampling steps (time outside ONNX Runtime over the steps' time); null otherwise.</param>
/// <param name="NetworkShare">SEDD: fraction of the wall time spent inside ONNX Runtime; null otherwise.</param>
sealed record QualityRow(string Source, string Predictor, int Steps, int Samples, int Length, double MeanLogPerplexity, double StandardError,
    double UnigramEntropy, double MeanSampleEntropy, double SecondsPerSample, double NetworkCallsPerRun, double RowsPerSample, double CachedRowsPerSample,
    double? HostShare, double? NetworkShare)
{
    /// <summary>exp(m): the generative perplexity.</summary>
    public double GenPerplexity => Math.Exp(MeanLogPerplexity);

    /// <summary>exp(m − 2 s.e.).</summary>
    public double Low => Math.Exp(MeanLogPerplexity - 2 * StandardError);

    /// <summary>exp(m + 2 s.e.).</summary>
    public double High => Math.Exp(MeanLogPerplexity + 2 * StandardError);

    /// <summary>The name in tables and legends.</summary>
    public string Name => Source switch
    {
        "sedd" => $"SEDD {Predictor}",
        "ar" => "AR samples",
        _ => "Brown test text",
    };

    /// <summary>Mean and standard error of the mean (sample standard deviation / √n; 0 for fewer than two values).</summary>
    /// <param name="values">The per-sample values.</param>
    public static (double Mean, double StandardError) MeanAndError(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) return (double.NaN, double.NaN);
        double mean = values.Average();
        if (values.Count < 2) return (mean, 0);
        double squares = values.Sum(v => (v - mean) * (v - mean));
        return (mean, Math.Sqrt(squares / (values.Count - 1) / values.Count));
    }
}
