using Sedd.Exporter.Sources;
using Sedd.Runtime;
using Sedd.Runtime.Package;

namespace Sedd.Exporter.Verification;

/// <summary>
/// Issue 3 point 4: runs the written graph in ONNX Runtime (CPU, all graph optimisations) on seeded
/// random inputs — batches 1, 2, 3; lengths 1, L/2, L (L capped at <see cref="LengthCap"/>); σ̄ in
/// {1e-5, 1e-2, 1, σ_max of the schedule} — and compares it with a reference forward. The fp32 graph
/// must stay within <see cref="Fp32Limit"/>; a precision variant is compared with the fp32 graph and
/// only has to be finite. Without a reference the check is skipped loudly, never silently.
/// </summary>
public static class ExportVerifier
{
    /// <summary>Largest |ONNX − reference| accepted for the fp32 graph.</summary>
    public const double Fp32Limit = 1e-4;

    /// <summary>Longest sequence verified (keeps a 1024-token model's check to seconds).</summary>
    public const int LengthCap = 128;

    /// <summary>Seed of the random inputs.</summary>
    public const int Seed = 20240611;

    /// <summary>
    /// Verifies <paramref name="fp32Onnx"/> against <paramref name="reference"/> and, for a variant,
    /// <paramref name="variantOnnx"/> against the fp32 graph. Throws <see cref="SeddException"/> (bad input)
    /// when the fp32 error exceeds the limit or any output is not finite.
    /// </summary>
    /// <param name="source">The exported checkpoint (architecture and noise schedule).</param>
    /// <param name="fp32Onnx">The float32 graph file.</param>
    /// <param name="variantOnnx">The fp16/int8 graph file, or null for an fp32 export.</param>
    /// <param name="reference">Reference forward, or null when none is available.</param>
    /// <param name="skipReason">Why <paramref name="reference"/> is null (for the record).</param>
    /// <param name="cancel">Checked between inputs and inside each ONNX Runtime run.</param>
    public static VerificationInfo Run(ExportSource source, string fp32Onnx, string? variantOnnx, IReferenceForward? reference, string? skipReason,
        CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var a = source.Architecture;
        int cap = Math.Min(a.MaxLength, LengthCap);
        int[] lengths = [.. new[] { 1, Math.Max(1, cap / 2), cap }.Distinct()];
        float[] sigmas = [1e-5f, 1e-2f, 1f, (float)source.Schedule().MaxTotalNoise];
        var random = new Random(Seed);
        double maxDiff = 0, maxVariant = 0;
        int cases = 0;
        using var fp32 = new ScoreNetworkSession(fp32Onnx);
        using var variant = variantOnnx != null ? new ScoreNetworkSession(variantOnnx) : null;
        foreach (int batch in new[] { 1, 2, 3 })
            foreach (int length in lengths)
                foreach (float sigma in sigmas)
                {
                    cancel.ThrowIfCancellationRequested();
                    var indices = new long[batch * length];
                    for (int i = 0; i < indices.Length; i++) indices[i] = random.Next(a.Vocab);
                    var s = Enumerable.Repeat(sigma, batch).ToArray();
                    var (y, _) = fp32.Run(indices, s, length, cancel);
                    RequireFinite(y, "fp32", batch, length, sigma);
                    if (reference != null) maxDiff = Math.Max(maxDiff, MaxAbsDiff(y, reference.Forward(indices, s, length)));
                    if (variant != null)
                    {
                        var (v, _) = variant.Run(indices, s, length, cancel);
                        RequireFinite(v, "variant", batch, length, sigma);
                        maxVariant = Math.Max(maxVariant, MaxAbsDiff(v, y));
                    }
                    cases++;
                    // Each case leaves outputs of batch × length × states floats (77 MB at SEDD-small's size):
                    // return them now rather than when the large-object heap's budget runs out.
                    if ((long)y.Length * sizeof(float) >= 8 << 20) GC.Collect();
                }
        if (reference != null && !(maxDiff <= Fp32Limit))
            throw new SeddException($"verification failed: the fp32 graph differs from the {reference.Name} forward by max |Δ| = {maxDiff:E2} > {Fp32Limit:E0} over {cases} inputs", SeddException.BadInput);
        return new VerificationInfo
        {
            Reference = reference?.Name ?? "none",
            MaxAbsDiff = reference != null ? maxDiff : null,
            Cases = cases,
            MaxAbsDiffVsFp32 = variant != null ? maxVariant : null,
        };
    }

    /// <summary>The one-line figure printed and written to the model card.</summary>
    /// <param name="v">Verification record.</param>
    /// <param name="skipReason">Why there was no reference, if so.</param>
    public static string Describe(VerificationInfo v, string? skipReason = null)
    {
        ArgumentNullException.ThrowIfNull(v);
        var variant = v.MaxAbsDiffVsFp32 is { } d ? $"; variant vs fp32 graph max |Δ| = {d:E2}" : "";
        return v.MaxAbsDiff is { } m
            ? $"fp32 graph vs {v.Reference} forward: max |Δ| = {m:E2} over {v.Cases} inputs (limit {Fp32Limit:E0}){variant}"
            : $"verification skipped: {skipReason ?? "no reference forward"}; the graph ran on {v.Cases} inputs with finite outputs{variant}";
    }

    static void RequireFinite(float[] y, string which, int batch, int length, float sigma)
    {
        if (!Array.TrueForAll(y, float.IsFinite))
            throw new SeddException($"verification failed: the {which} graph gives non-finite log-scores at batch {batch}, length {length}, σ̄ = {sigma:G3}", SeddException.BadInput);
    }

    static double MaxAbsDiff(float[] a, float[] b)
    {
        if (a.Length != b.Length) throw new SeddException($"verification failed: the graph returned {a.Length} values, the reference {b.Length}", SeddException.BadInput);
        double m = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - b[i]);
            if (double.IsNaN(d)) return double.PositiveInfinity;
            m = Math.Max(m, d);
        }
        return m;
    }
}
