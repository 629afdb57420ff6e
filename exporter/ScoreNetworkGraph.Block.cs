using static Sedd.Exporter.OnnxGraphBuilder;

namespace Sedd.Exporter;

/// <summary>The transformer blocks of <see cref="ScoreNetworkGraph"/>: adaLN, rotary attention, MLP (spec §5.4–5.5).</summary>
public sealed partial class ScoreNetworkGraph
{
    /// <summary>
    /// spec §5.4: cos/sin tables [L, d], the half repeated, angle p·θ_k. Precomputed in double up to
    /// MaxLength (a float32 p·θ at p ≈ 1000 is off by ~1e-4 rad) and sliced to the input's length.
    /// </summary>
    (string Cos, string Sin) RotaryTables(string indices)
    {
        int d = arch.HeadDim, half = d / 2, n = arch.MaxLength;
        var theta = arch.RotaryInverseFrequencies();
        var cos = new float[n * d];
        var sin = new float[n * d];
        for (int p = 0; p < n; p++)
            for (int k = 0; k < half; k++)
            {
                double angle = p * theta[k];
                cos[p * d + k] = cos[p * d + half + k] = (float)Math.Cos(angle);
                sin[p * d + k] = sin[p * d + half + k] = (float)Math.Sin(angle);
            }
        var length = g.Op("Shape", [indices], Attr("start", 1L), Attr("end", 2L));   // [L]
        string Slice(string table) => g.Op("Slice", [table, g.ConstI64(0), length, g.ConstI64(0)]);
        return (Slice(g.Initializer("rotary_emb.cos", cos, n, d)), Slice(g.Initializer("rotary_emb.sin", sin, n, d)));
    }

    /// <summary>One DDiT block (spec §5.5), x (B, L, H) → (B, L, H); dropout is inactive at inference.</summary>
    string Block(string p, string x, string c, string cos, string sin)
    {
        // m = adaLN(c): shift_a, scale_a, gate_a, shift_m, scale_m, gate_m, each (B, 1, H)
        var mod = g.Op("Unsqueeze", [Gemm(c, p + "adaLN_modulation"), g.ConstI64(1)]);   // (B, 1, 6H)
        var m = g.Ops("Split", [mod], 6, Attr("axis", 2L));

        var h = Modulate(LayerNorm(x, p + "norm1.weight"), m[0], m[1]);
        var a = Attention(p, h, cos, sin);
        x = g.Op("Add", [x, g.Op("Mul", [m[2], Linear(a, p + "attn_out", bias: false)])]);

        var h2 = Modulate(LayerNorm(x, p + "norm2.weight"), m[3], m[4]);
        var mlp = Linear(GeluTanh(Linear(h2, p + "mlp.0", bias: true)), p + "mlp.2", bias: true);
        return g.Op("Add", [x, g.Op("Mul", [m[5], mlp])]);
    }

    /// <summary>
    /// Full (non-causal) multi-head attention with rotary q and k, scale 1/sqrt(d), no mask:
    /// h (B, L, H) → concatenated heads (B, L, H), before the output projection.
    /// </summary>
    string Attention(string p, string h, string cos, string sin)
    {
        int heads = arch.Heads, d = arch.HeadDim;
        var qkv = Linear(h, p + "attn_qkv", bias: false);                                             // (B, L, 3H)
        qkv = g.Op("Reshape", [qkv, g.ConstI64(0, 0, 3, heads, d)]);                                   // (B, L, 3, h, d)
        qkv = g.Op("Transpose", [qkv], Attr("perm", new long[] { 2, 0, 3, 1, 4 }));                   // (3, B, h, L, d)
        var qkAndV = g.Ops("Split", [qkv, g.ConstI64(2, 1)], 2, Attr("axis", 0L));
        var qk = Rotate(qkAndV[0], cos, sin);                                                        // (2, B, h, L, d); v is not rotated
        var qAndK = g.Ops("Split", [qk], 2, Attr("axis", 0L));                                       // (1, B, h, L, d) each
        var q = g.Op("Mul", [qAndK[0], g.ConstF((float)(1 / Math.Sqrt(d)))]);
        var kT = g.Op("Transpose", [qAndK[1]], Attr("perm", new long[] { 0, 1, 2, 4, 3 }));           // (1, B, h, d, L)
        var probs = g.Op("Softmax", [g.Op("MatMul", [q, kT])], Attr("axis", -1L));                   // (1, B, h, L, L)
        var a = g.Op("MatMul", [probs, qkAndV[1]]);                                                   // (1, B, h, L, d)
        a = g.Op("Transpose", [a], Attr("perm", new long[] { 1, 3, 0, 2, 4 }));                      // (B, L, 1, h, d)
        return g.Op("Reshape", [a, g.ConstI64(0, 0, -1)]);                                           // (B, L, H), heads concatenated
    }

    /// <summary>x ⊙ cos + rotate_half(x) ⊙ sin, rotate_half([a, b]) = [−b, a] over the last axis (GPT-NeoX layout).</summary>
    string Rotate(string x, string cos, string sin)
    {
        var halves = g.Ops("Split", [x], 2, Attr("axis", -1L));
        var rotated = g.Op("Concat", [g.Op("Neg", [halves[1]]), halves[0]], Attr("axis", -1L));
        return g.Op("Add", [g.Op("Mul", [x, cos]), g.Op("Mul", [rotated, sin])]);
    }

    /// <summary>GELU, tanh approximation: 0.5 z (1 + tanh(sqrt(2/π) (z + 0.044715 z³))) (spec §5.5).</summary>
    string GeluTanh(string z)
    {
        var z3 = g.Op("Mul", [g.Op("Mul", [z, z]), z]);
        var inner = g.Op("Mul", [g.Op("Add", [z, g.Op("Mul", [z3, g.ConstF(0.044715f)])]), g.ConstF((float)Math.Sqrt(2 / Math.PI))]);
        var t = g.Op("Add", [g.ConstF(1f), g.Op("Tanh", [inner])]);
        return g.Op("Mul", [g.Op("Mul", [z, g.ConstF(0.5f)]), t]);
    }
}
