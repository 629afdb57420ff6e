using System.Text.Json.Serialization;

namespace Sedd.Trainer.Model;

/// <summary>
/// Score-network (and AR baseline) architecture, SEDD's <c>model</c> config block (spec §5).
/// The vocabulary size and whether the output is scaled by σ come from the graph, not from here.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Hidden size H: the width of every transformer block.</summary>
    public int HiddenSize { get; init; } = 256;

    /// <summary>Width C of the noise-level embedding that modulates every block (unused by the AR baseline).</summary>
    public int CondDim { get; init; } = 128;

    /// <summary>Number of transformer blocks (depth).</summary>
    public int NBlocks { get; init; } = 6;

    /// <summary>Attention heads; hidden_size / n_heads must be even (rotary embeddings rotate pairs).</summary>
    public int NHeads { get; init; } = 4;

    /// <summary>Dropout on each block's branch outputs during training (the reference uses 0.1).</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary>Tokens per training sequence (block length L); also the longest sequence the model accepts.</summary>
    public int Length { get; init; } = 128;

    /// <summary>
    /// When true the network ignores the noise level (conditioning on σ = 0 is fixed), as RADD
    /// showed for absorbing models; the runtime may then cache calls when no token changed.
    /// </summary>
    public bool TimeIndependent { get; init; }

    /// <summary>
    /// How the network's output becomes a log-score. "score" (the default, SEDD's): the
    /// output minus ln expm1s(σ̄) + ln V on the absorbing graph, unchanged on the uniform one.
    /// "normalized" (absorbing graph only; RADD, Ou et al. 2024, whose true score at a masked position is
    /// p(x0 = y | unmasked tokens)/(e^σ̄ − 1)): log_softmax of the outputs over the V real tokens minus
    /// ln expm1s(σ̄), and −ln expm1s(σ̄) in the mask column (see <see cref="ScoreNetwork"/>). Same weights
    /// and the same loss either way, so a "score" model can be continued as a "normalized" one.
    /// </summary>
    public string Parameterization { get; init; } = ScoreParameterization;

    /// <summary>The default parameterization's name, "score".</summary>
    public const string ScoreParameterization = "score";

    /// <summary>The normalized (RADD) parameterization's name, "normalized".</summary>
    public const string NormalizedParameterization = "normalized";

    /// <summary>Whether <see cref="Parameterization"/> is "normalized".</summary>
    [JsonIgnore]
    public bool Normalized => Parameterization == NormalizedParameterization;

    /// <summary>Head dimension H / heads.</summary>
    [JsonIgnore]
    public int HeadDim => HiddenSize / NHeads;
}
