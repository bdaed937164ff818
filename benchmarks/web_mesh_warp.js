// The alternative the web player was measured against (benchmarks/bench_web_player.py --compare-mesh): a mesh warp
// in the style of the GID authors' web demo. One vertex per motion-grid cell (plus a border ring), moved by the
// grid's displacement (no edge-aware upsampling), the picture mapped on it bilinearly, overlaps resolved by a depth
// test on the splat weight W (more motion in front) instead of softmax blending, holes stretched over instead of
// filled. Injected into an exported page by the benchmark only; it uses the player's own IDFT pass and textures.
"use strict";
window.meshWarp = (function () {
  const VS = `#version 300 es
  precision highp float; precision highp int; precision highp sampler2D;
  uniform sampler2D uDisp; uniform sampler2D uWeight; uniform ivec2 uGrid; uniform vec2 uSize; uniform float uTop;
  out vec2 vUV;
  void main() {
    int cols = uGrid.x + 2;
    int c = gl_VertexID % cols, r = gl_VertexID / cols;
    ivec2 cell = ivec2(clamp(c - 1, 0, uGrid.x - 1), clamp(r - 1, 0, uGrid.y - 1));
    vec2 cellSize = uSize / vec2(uGrid);
    vec2 p = vec2(c == 0 ? 0.0 : (c == uGrid.x + 1 ? uSize.x : (float(c) - 0.5) * cellSize.x),
                  r == 0 ? 0.0 : (r == uGrid.y + 1 ? uSize.y : (float(r) - 0.5) * cellSize.y));
    vec2 d = texelFetch(uDisp, cell, 0).xy;
    float depth = 0.5 * (1.0 - texelFetch(uWeight, cell, 0).r / max(uTop, 1e-6));  // nearer than the clear depth
    vUV = p / uSize;
    gl_Position = vec4((p + d) / uSize * 2.0 - 1.0, depth * 2.0 - 1.0, 1.0);
  }`;
  const FS = `#version 300 es
  precision highp float; precision highp sampler2D;
  uniform sampler2D uGuide; in vec2 vUV; out vec4 o;
  void main() { o = vec4(texture(uGuide, vUV).rgb, 1.0); }`;

  let state = null;

  function setup(player) {
    const gl = player.gl;
    const o = player.osc;
    const [W, H] = player.size;
    const compile = (type, src) => {
      const s = gl.createShader(type);
      gl.shaderSource(s, src);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
      return s;
    };
    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl.VERTEX_SHADER, VS));
    gl.attachShader(prog, compile(gl.FRAGMENT_SHADER, FS));
    gl.linkProgram(prog);
    const cols = o.w + 2, rows = o.h + 2;
    const indices = new Uint32Array((cols - 1) * (rows - 1) * 6);
    let n = 0;
    for (let r = 0; r < rows - 1; r++) {
      for (let c = 0; c < cols - 1; c++) {
        const a = r * cols + c, b = a + 1, d = a + cols, e = d + 1;
        indices.set([a, b, d, b, e, d], n);
        n += 6;
      }
    }
    const vao = gl.createVertexArray();
    gl.bindVertexArray(vao);
    const ibo = gl.createBuffer();
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, ibo);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, indices, gl.STATIC_DRAW);
    gl.bindVertexArray(null);
    const color = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, color);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA8, W, H);
    const depth = gl.createRenderbuffer();
    gl.bindRenderbuffer(gl.RENDERBUFFER, depth);
    gl.renderbufferStorage(gl.RENDERBUFFER, gl.DEPTH_COMPONENT24, W, H);
    const fb = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, color, 0);
    gl.framebufferRenderbuffer(gl.FRAMEBUFFER, gl.DEPTH_ATTACHMENT, gl.RENDERBUFFER, depth);
    gl.drawBuffers([gl.COLOR_ATTACHMENT0]);
    const loc = (name) => gl.getUniformLocation(prog, name);
    state = { prog, vao, fb, count: n, W, H, loc };
  }

  /** Render frame t with the mesh warp; returns RGBA bytes, rows top to bottom. */
  function render(player, t, read) {
    if (!state) setup(player);
    const gl = player.gl;
    const o = player.osc;
    if (player.weightsDirty) player._updateWeights();
    // the player's own inverse DFT on the grid (display pixels)
    const gains = player.gains();
    const phase = new Float32Array(128);
    for (let k = 0; k < o.K; k++) {
      const angle = 2 * Math.PI * (((o.harmonics[k] * t) % o.loop) / o.loop);
      phase[2 * k] = gains[k] * (Math.cos(angle) - 1);
      phase[2 * k + 1] = -gains[k] * Math.sin(angle);
    }
    const [sx, sy] = player._scale();
    player._pass(player.progs.idft, player.gridDisp, { uCoef: { array: player.coef }, uBands: { int: o.K },
      uPhase: { vec2: phase }, uScale: { vec2: [sx, sy] } });
    const s = state;
    gl.useProgram(s.prog);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, player.gridDisp.textures[0].t);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, player.gridWeight.textures[0].t);
    gl.activeTexture(gl.TEXTURE2);
    gl.bindTexture(gl.TEXTURE_2D, player.guide.textures[0].t);  // the picture at display size, linear filtering
    gl.uniform1i(s.loc("uDisp"), 0);
    gl.uniform1i(s.loc("uWeight"), 1);
    gl.uniform1i(s.loc("uGuide"), 2);
    gl.uniform2i(s.loc("uGrid"), o.w, o.h);
    gl.uniform2f(s.loc("uSize"), s.W, s.H);
    gl.uniform1f(s.loc("uTop"), player.top / Math.max(o.beta, 1e-6));
    gl.bindFramebuffer(gl.FRAMEBUFFER, s.fb);
    gl.viewport(0, 0, s.W, s.H);
    gl.clearColor(0, 0, 0, 1);
    gl.clearDepth(1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.enable(gl.DEPTH_TEST);
    gl.depthFunc(gl.LESS);
    gl.bindVertexArray(s.vao);
    gl.drawElements(gl.TRIANGLES, s.count, gl.UNSIGNED_INT, 0);
    gl.bindVertexArray(null);
    gl.disable(gl.DEPTH_TEST);
    const out = new Uint8Array(read ? s.W * s.H * 4 : 4);
    gl.readPixels(0, 0, read ? s.W : 1, read ? s.H : 1, gl.RGBA, gl.UNSIGNED_BYTE, out);
    return out;
  }

  return { render };
})();
