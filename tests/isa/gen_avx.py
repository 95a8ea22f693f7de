"""The AVX batches of the differential instruction tester (gen.py imports
this; Form is gen.py's class, passed in).

avx: AVX floating point, moves, shuffles, blends, broadcasts, inserts and
extracts, masked moves, conversions; avx2: AVX2 integer forms, permutes,
variable shifts, gathers; fma: FMA3 and F16C.  Every form comes in its
256-bit and 128-bit encodings where both exist, with register and memory
operands; every register the form names gets data in all 256 bits, so a
128-bit form that fails to zero bits 255:128 of its destination, or a
256-bit form that drops them, shows.  Memory operands are isa_mem+16
(32 bytes of data, not 32-byte aligned: the aligned moves fault there, on
purpose) and isa_mem+32 (32-byte aligned).
"""

MEM = 'isa_mem+16(%rip)'
AMEM = 'isa_mem+32(%rip)'
MARK = 0x5a5a5a5a5a5a5a00
GUARD = 0x5c5c5c5c5c5c5c00
AVX_BATCHES = ('avx', 'avx2', 'fma')
M64 = (1 << 64) - 1

# Rows of avx-ops.h that exist only as 128-bit or only as 256-bit forms.
XONLY = set('''vaddss vaddsd vsubss vsubsd vmulss vmulsd vdivss vdivsd vminss vminsd vmaxss
vmaxsd vsqrtss vsqrtsd vrcpss vrsqrtss vcvtss2sd vcvtsd2ss vcmpss vcmpsd vroundss vroundsd
vdppd vinsertps vmovhlps vmovlhps vphminposuw'''.split())
YONLY = set('vpermd vpermps vpermq vpermpd vperm2f128 vperm2i128 vinsertf128 vinserti128'.split())
ALL = tuple(range(16))


def widths(op):
    if op in XONLY:
        return ('x',)
    if op in YONLY:
        return ('y',)
    return ('y', 'x')


def r(w, n):
    return f'%{"ymm" if w == "y" else "xmm"}{n}'


def three(F, Form, op, kind, imms=(None,), mx=False, mem=True):
    """op [imm,] src2, src1, dst in both widths, register and memory."""
    for k, imm in enumerate(imms):
        pre = f'${imm}, ' if imm is not None else ''
        for w in widths(op):
            F.append(Form(f'{op} {pre}{r(w, 2)}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp=kind,
                          mxcsr_vary=mx))
            if k == 0:
                # the aliasings: dst = src1, dst = src2, src1 = src2
                for s2, s1, d in ((12, 9, 9), (0, 1, 0), (1, 1, 0)):
                    F.append(Form(f'{op} {pre}{r(w, s2)}, {r(w, s1)}, {r(w, d)}', xmm=ALL, ymm=ALL,
                                  fp=kind, mxcsr_vary=mx))
            if mem and k < 2:
                F.append(Form(f'{op} {pre}{MEM}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL,
                              mem=256, fp=kind, mxcsr_vary=mx))


def two(F, Form, op, kind, imms=(None,), mx=False, src='same', dst='same', suffix=False):
    """op [imm,] src, dst; src='x': the source is xmm in both widths;
    dst='x': the destination is xmm in both widths."""
    for k, imm in enumerate(imms):
        pre = f'${imm}, ' if imm is not None else ''
        for w in widths(op):
            sw = 'x' if src == 'x' else w
            dw = 'x' if dst == 'x' else w
            F.append(Form(f'{op} {pre}{r(sw, 1)}, {r(dw, 0)}', xmm=ALL, ymm=ALL, fp=kind, mxcsr_vary=mx))
            if k < 2:
                sfx = ('y' if w == 'y' else 'x') if suffix else ''
                F.append(Form(f'{op}{sfx} {pre}{MEM}, {r(dw, 0)}', xmm=ALL, ymm=ALL, mem=256, fp=kind,
                              mxcsr_vary=mx))


IMMS = (0, 1, 0x1b, 0x4e, 0x5a, 0xb1, 0xff, 0x80, 0x31, 0x13)


def avx_forms(Form):
    F = []
    for op in ('add', 'sub', 'mul', 'div', 'min', 'max'):
        for k in ('ps', 'pd', 'ss', 'sd'):
            three(F, Form, f'v{op}{k}', k, mx=True)
    for op in ('vaddsubps', 'vaddsubpd', 'vhaddps', 'vhaddpd', 'vhsubps', 'vhsubpd'):
        three(F, Form, op, op[-2:], mx=True)
    for op, k in (('vsqrtss', 'ss'), ('vsqrtsd', 'sd'), ('vrcpss', 'ss'), ('vrsqrtss', 'ss'),
                  ('vcvtss2sd', 'ss'), ('vcvtsd2ss', 'sd')):
        three(F, Form, op, k, mx=True)
    for k in ('ps', 'pd', 'ss', 'sd'):
        for imm in range(32):
            for w in widths(f'vcmp{k}'):
                F.append(Form(f'vcmp{k} ${imm}, {r(w, 2)}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp=k))
        three(F, Form, f'vcmp{k}', k, imms=(3,))
    for k in ('ps', 'pd', 'ss', 'sd'):
        imms = range(16) if k[0] == 's' else range(8)
        if k[0] == 's':
            three(F, Form, f'vround{k}', k, imms=tuple(imms), mx=True)
        else:
            two(F, Form, f'vround{k}', k, imms=tuple(imms), mx=True)
    three(F, Form, 'vdpps', 'ps', imms=(0xff, 0x31, 0xf1, 0x7c), mx=True)
    three(F, Form, 'vdppd', 'pd', imms=(0x33, 0x31, 0x12), mx=True)
    for op in ('vsqrtps', 'vsqrtpd', 'vrcpps', 'vrsqrtps', 'vcvtps2dq', 'vcvttps2dq'):
        two(F, Form, op, op[-2:] if op[-2] == 'p' else 'ps', mx=True)
    two(F, Form, 'vcvtdq2ps', 'i', mx=True)
    two(F, Form, 'vcvtdq2pd', 'i', src='x', mx=True)
    two(F, Form, 'vcvtps2pd', 'ps', src='x', mx=True)
    for op in ('vcvtpd2ps', 'vcvtpd2dq', 'vcvttpd2dq'):
        two(F, Form, op, 'pd', dst='x', mx=True, suffix=True)
    for op in ('vandps', 'vandpd', 'vandnps', 'vandnpd', 'vorps', 'vorpd', 'vxorps', 'vxorpd',
               'vunpcklps', 'vunpckhps', 'vunpcklpd', 'vunpckhpd', 'vmovhlps', 'vmovlhps'):
        three(F, Form, op, 'ps', mem=op[:6] != 'vmovhl' and op[:6] != 'vmovlh')
    for op in ('vshufps', 'vshufpd', 'vblendps', 'vblendpd', 'vperm2f128'):
        three(F, Form, op, 'ps', imms=IMMS)
    three(F, Form, 'vinsertps', 'ps', imms=(0, 0x10, 0x4e, 0xb1, 0xc0, 0x3f))
    three(F, Form, 'vpermilps', 'ps')
    three(F, Form, 'vpermilpd', 'pd')
    two(F, Form, 'vpermilps', 'ps', imms=IMMS)
    two(F, Form, 'vpermilpd', 'pd', imms=IMMS)
    for op in ('vblendvps', 'vblendvpd'):
        for w in ('y', 'x'):
            F.append(Form(f'{op} {r(w, 3)}, {r(w, 2)}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp='ps'))
            F.append(Form(f'{op} {r(w, 3)}, {MEM}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, mem=256, fp='ps'))
    for op in ('vmovshdup', 'vmovsldup', 'vmovddup'):
        two(F, Form, op, 'ps')
    two(F, Form, 'vbroadcastss', 'ps', src='x')
    F.append(Form('vbroadcastsd %xmm1, %ymm0', xmm=ALL, ymm=ALL, fp='pd'))
    F.append(Form(f'vbroadcastsd {MEM}, %ymm0', xmm=ALL, ymm=ALL, mem=256, fp='pd'))
    F.append(Form(f'vbroadcastf128 {MEM}, %ymm0', xmm=ALL, ymm=ALL, mem=256, fp='i'))
    for imm in (0, 1, 2, 3):
        F.append(Form(f'vinsertf128 ${imm}, %xmm2, %ymm1, %ymm0', xmm=ALL, ymm=ALL, fp='i'))
        F.append(Form(f'vinsertf128 ${imm}, {MEM}, %ymm1, %ymm0', xmm=ALL, ymm=ALL, mem=256, fp='i'))
        F.append(Form(f'vextractf128 ${imm}, %ymm1, %xmm0', xmm=ALL, ymm=ALL, fp='i'))
        F.append(Form(f'vextractf128 ${imm}, %ymm1, {MEM}', xmm=ALL, ymm=ALL, mem=256, fp='i'))
    for op in ('vtestps', 'vtestpd'):
        for w in ('y', 'x'):
            F.append(Form(f'{op} {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp=op[-2:]))
            F.append(Form(f'{op} {MEM}, {r(w, 0)}', xmm=ALL, ymm=ALL, mem=256, fp=op[-2:]))
    for op in ('vcomiss', 'vucomiss', 'vcomisd', 'vucomisd'):
        F.append(Form(f'{op} %xmm1, %xmm0', xmm=ALL, ymm=ALL, fp=op[-2:], mxcsr_vary=True))
        F.append(Form(f'{op} {MEM}, %xmm0', xmm=ALL, ymm=ALL, mem=256, fp=op[-2:], mxcsr_vary=True))
    for op in ('vmovmskps', 'vmovmskpd'):
        F.append(Form(f'{op} %ymm1, %eax', [('rax', 64)], xmm=ALL, ymm=ALL, fp=op[-2:]))
        F.append(Form(f'{op} %xmm1, %rax', [('rax', 64)], xmm=ALL, ymm=ALL, fp=op[-2:]))
    for op in ('vcvtss2si', 'vcvttss2si', 'vcvtsd2si', 'vcvttsd2si'):
        k = op[-4:-2]
        for reg in ('%eax', '%rax'):
            F.append(Form(f'{op} %xmm1, {reg}', [('rax', 64)], xmm=ALL, ymm=ALL, fp=k, mxcsr_vary=True))
        F.append(Form(f'{op}q {MEM}, %rax', [('rax', 64)], xmm=ALL, ymm=ALL, mem=256, fp=k, mxcsr_vary=True))
    for op in ('vcvtsi2ss', 'vcvtsi2sd'):
        F.append(Form(f'{op}l %ebx, %xmm1, %xmm0', [('rbx', 64)], xmm=ALL, ymm=ALL, fp='i', mxcsr_vary=True))
        F.append(Form(f'{op}q %rbx, %xmm1, %xmm0', [('rbx', 64)], xmm=ALL, ymm=ALL, fp='i', mxcsr_vary=True))
        F.append(Form(f'{op}l {MEM}, %xmm1, %xmm0', xmm=ALL, ymm=ALL, mem=256, fp='i', mxcsr_vary=True))
        F.append(Form(f'{op}q {MEM}, %xmm1, %xmm0', xmm=ALL, ymm=ALL, mem=256, fp='i', mxcsr_vary=True))
    # moves
    mv = []
    for op in ('vmovaps', 'vmovapd', 'vmovdqa', 'vmovups', 'vmovupd', 'vmovdqu'):
        for w in ('y', 'x'):
            mv += [f'{op} {r(w, 1)}, {r(w, 0)}', f'{op} {r(w, 0)}, {r(w, 0)}', f'{op} {MEM}, {r(w, 0)}',
                   f'{op} {AMEM}, {r(w, 0)}', f'{op} {r(w, 1)}, {MEM}', f'{op} {r(w, 1)}, {AMEM}']
    for w in ('y', 'x'):
        mv += [f'vlddqu {MEM}, {r(w, 0)}', f'vmovntdqa {AMEM}, {r(w, 0)}', f'vmovntdqa {MEM}, {r(w, 0)}',
               f'vmovntdq {r(w, 1)}, {AMEM}', f'vmovntps {r(w, 1)}, {AMEM}', f'vmovntpd {r(w, 1)}, {MEM}']
    mv += ['vmovss %xmm2, %xmm1, %xmm0', f'vmovss {MEM}, %xmm0', f'vmovss %xmm1, {MEM}',
           'vmovsd %xmm2, %xmm1, %xmm0', f'vmovsd {MEM}, %xmm0', f'vmovsd %xmm1, {MEM}',
           'vmovd %ebx, %xmm0', 'vmovq %rbx, %xmm0', f'vmovd {MEM}, %xmm0', f'vmovq {MEM}, %xmm0',
           'vmovd %xmm1, %eax', 'vmovq %xmm1, %rax', f'vmovd %xmm1, {MEM}', f'vmovq %xmm1, {MEM}',
           'vmovq %xmm1, %xmm0',
           f'vmovhps {MEM}, %xmm1, %xmm0', f'vmovhpd {MEM}, %xmm1, %xmm0', f'vmovlps {MEM}, %xmm1, %xmm0',
           f'vmovlpd {MEM}, %xmm1, %xmm0', f'vmovhps %xmm1, {MEM}', f'vmovlps %xmm1, {MEM}',
           f'vmovhpd %xmm1, {MEM}', f'vmovlpd %xmm1, {MEM}',
           'vzeroupper', 'vzeroall', f'vldmxcsr {MEM}', f'vstmxcsr {MEM}',
           'vextractps $1, %xmm1, %eax', f'vextractps $3, %xmm1, {MEM}',
           'vpextrb $13, %xmm1, %eax', 'vpextrw $5, %xmm1, %eax', 'vpextrd $2, %xmm1, %eax',
           'vpextrq $1, %xmm1, %rax', f'vpextrw $3, %xmm1, {MEM}',
           'vpinsrb $9, %ebx, %xmm1, %xmm0', 'vpinsrw $6, %ebx, %xmm1, %xmm0', 'vpinsrd $3, %ebx, %xmm1, %xmm0',
           'vpinsrq $1, %rbx, %xmm1, %xmm0', f'vpinsrd $1, {MEM}, %xmm1, %xmm0']
    for t in mv:
        def fix_csr(rng, st, t=t):
            if 'vldmxcsr' in t:
                v = 0x1f80 | rng.getrandbits(2) << 13 if rng.random() < 0.8 else rng.getrandbits(32)
                st['mem'][16:20] = v.to_bytes(4, 'little')
        F.append(Form(t, [('rax', 64), ('rbx', 64)], xmm=ALL, ymm=ALL, mem=256, fp='i', fix=fix_csr))
    # the VEX string compares: short strings with shared bytes
    def fx_str(rng, st):
        alpha = bytes(rng.choice(b'abcd\0') for _ in range(4))
        for x in (0, 1):
            st['xmm'][x] = bytes(rng.choice(alpha) for _ in range(16))
        st['gpr'][0] = rng.choice([0, 1, 5, 8, 16, 17, -3 & M64, rng.getrandbits(64)])
        st['gpr'][2] = rng.choice([0, 1, 5, 8, 16, 17, -3 & M64, rng.getrandbits(64)])
    for op in ('vpcmpistri', 'vpcmpistrm', 'vpcmpestri', 'vpcmpestrm'):
        for imm in (0x00, 0x0c, 0x18, 0x3a, 0x44, 0x72):
            F.append(Form(f'{op} ${imm}, %xmm1, %xmm0', [('rcx', 64)], xmm=ALL, ymm=ALL, fp='i', fix=fx_str))
        F.append(Form(f'{op} $0x0c, {MEM}, %xmm0', [('rcx', 64)], xmm=ALL, ymm=ALL, mem=256, fp='i', fix=fx_str))

    def fx_rdi(rng, st):
        st['gpr'][7] = MARK | 16
    F.append(Form('vmaskmovdqu %xmm1, %xmm0', xmm=ALL, ymm=ALL, mem=256, fp='i', fix=fx_rdi))
    # masked moves: data in the window, or just before the guard page
    for op, esz in (('vmaskmovps', 4), ('vmaskmovpd', 8)):
        for w in ('y', 'x'):
            def fix_mask(rng, st, esz=esz, guard=False):
                for x in (1,):
                    n = 32 // esz
                    b = b''.join(((rng.getrandbits(1) << (8 * esz - 1)) | rng.getrandbits(8)).to_bytes(esz, 'little')
                                 for _ in range(n))
                    st['xmm'][x], st['ymmh'][x] = b[:16], b[16:]
            F.append(Form(f'{op} {MEM}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, mem=256, fp='i', fix=fix_mask))
            F.append(Form(f'{op} {r(w, 2)}, {r(w, 1)}, {MEM}', xmm=ALL, ymm=ALL, mem=256, fp='i', fix=fix_mask))

            def fix_guard(rng, st, esz=esz, w=w, f0=fix_mask):
                f0(rng, st)
                # rbx: 16 bytes before the guard page; elements past it fault
                # only if their mask bit is set
                st['gpr'][3] = GUARD | 16
            F.append(Form(f'{op} (%rbx), {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp='i', fix=fix_guard))
            F.append(Form(f'{op} {r(w, 2)}, {r(w, 1)}, (%rbx)', xmm=ALL, ymm=ALL, fp='i', fix=fix_guard))
    # VEX.128 carry-less multiply (reported with PCLMULQDQ): imm8 bits 0
    # and 4 pick the quadwords, the others are ignored; bits 255:128 clear
    for imm in (0x00, 0x01, 0x10, 0x11, 0x02, 0x20, 0xee, 0xff):
        F.append(Form(f'vpclmulqdq ${imm}, %xmm2, %xmm1, %xmm0', xmm=ALL, ymm=ALL, fp='i'))
        F.append(Form(f'vpclmulqdq ${imm}, %xmm13, %xmm9, %xmm14', xmm=ALL, ymm=ALL, fp='i'))
    for imm in (0x01, 0x10):
        F.append(Form(f'vpclmulqdq ${imm}, {MEM}, %xmm1, %xmm0', xmm=ALL, ymm=ALL, mem=128, fp='i'))
    return F


def avx2_forms(Form):
    F = []
    ints = '''vpaddb vpaddw vpaddd vpaddq vpsubb vpsubw vpsubd vpsubq vpaddusb vpaddusw vpsubusb vpsubusw
    vpaddsb vpaddsw vpsubsb vpsubsw vpmullw vpmulhw vpmulhuw vpmuludq vpmaddwd vpsadbw vpavgb vpavgw
    vpminub vpmaxub vpminsw vpmaxsw vpcmpeqb vpcmpeqw vpcmpeqd vpcmpeqq vpcmpgtb vpcmpgtw vpcmpgtd vpcmpgtq
    vpunpcklbw vpunpcklwd vpunpckldq vpunpcklqdq vpunpckhbw vpunpckhwd vpunpckhdq vpunpckhqdq
    vpacksswb vpackssdw vpackuswb vpackusdw vpand vpandn vpor vpxor vpshufb vphaddw vphaddd vphaddsw
    vphsubw vphsubd vphsubsw vpmaddubsw vpmulhrsw vpsignb vpsignw vpsignd vpminsb vpminsd vpminuw vpminud
    vpmaxsb vpmaxsd vpmaxuw vpmaxud vpmulld vpmuldq vpermd vpermps'''.split()
    for op in ints:
        three(F, Form, op, 'i')
    F.append(Form('vpxor %ymm3, %ymm3, %ymm3', xmm=ALL, ymm=ALL, fp='i'))
    F.append(Form('vpcmpeqb %xmm3, %xmm3, %xmm3', xmm=ALL, ymm=ALL, fp='i'))

    def fix_counts(rng, st):
        # small shift counts in every lane of ymm2 and in the count qword
        for x in (2,):
            lanes = [rng.choice([0, 1, 3, 7, 8, 15, 16, 31, 32, 63, 64, 200]) for _ in range(8)]
            b = b''.join(v.to_bytes(4, 'little') for v in lanes)
            st['xmm'][x], st['ymmh'][x] = b[:16], b[16:]
        st['mem'][16:24] = rng.choice([0, 1, 5, 15, 16, 31, 32, 33, 63, 64, 1 << 40]).to_bytes(8, 'little')
    for op in ('vpsllvd', 'vpsllvq', 'vpsrlvd', 'vpsrlvq', 'vpsravd'):
        for w in ('y', 'x'):
            F.append(Form(f'{op} {r(w, 2)}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp='i', fix=fix_counts))
            F.append(Form(f'{op} {MEM}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, mem=256, fp='i'))
    # Shifts by an immediate take a register source only: with a memory
    # source the assembler can only encode them as EVEX (AVX-512), which
    # an AVX-512 host runs and loom's models rightly refuse.
    for op in ('vpsllw', 'vpslld', 'vpsllq', 'vpsrlw', 'vpsrld', 'vpsrlq', 'vpsraw', 'vpsrad'):
        for w in ('y', 'x'):
            F.append(Form(f'{op} %xmm2, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp='i', fix=fix_counts))
            F.append(Form(f'{op} {MEM}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, mem=256, fp='i', fix=fix_counts))
            for imm in (0, 1, 7, 15, 16, 31, 32, 63, 64, 255):
                F.append(Form(f'{op} ${imm}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp='i'))
            F.append(Form(f'{op} $3, {r(w, 0)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp='i'))
    for op in ('vpslldq', 'vpsrldq'):
        for imm in (0, 1, 5, 8, 15, 16, 255):
            for w in ('y', 'x'):
                F.append(Form(f'{op} ${imm}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp='i'))
    for op in ('vpalignr', 'vpblendw', 'vpblendd', 'vmpsadbw', 'vperm2i128'):
        three(F, Form, op, 'i', imms=IMMS)
    for op in ('vpshufd', 'vpshufhw', 'vpshuflw', 'vpermq', 'vpermpd'):
        two(F, Form, op, 'i', imms=IMMS)
    for op in ('vpabsb', 'vpabsw', 'vpabsd', 'vphminposuw'):
        two(F, Form, op, 'i')
    for op in ('vpmovsxbw', 'vpmovsxbd', 'vpmovsxbq', 'vpmovsxwd', 'vpmovsxwq', 'vpmovsxdq',
               'vpmovzxbw', 'vpmovzxbd', 'vpmovzxbq', 'vpmovzxwd', 'vpmovzxwq', 'vpmovzxdq',
               'vpbroadcastb', 'vpbroadcastw', 'vpbroadcastd', 'vpbroadcastq'):
        two(F, Form, op, 'i', src='x')
    F.append(Form(f'vbroadcasti128 {MEM}, %ymm0', xmm=ALL, ymm=ALL, mem=256, fp='i'))
    for imm in (0, 1, 3):
        F.append(Form(f'vinserti128 ${imm}, %xmm2, %ymm1, %ymm0', xmm=ALL, ymm=ALL, fp='i'))
        F.append(Form(f'vinserti128 ${imm}, {MEM}, %ymm1, %ymm0', xmm=ALL, ymm=ALL, mem=256, fp='i'))
        F.append(Form(f'vextracti128 ${imm}, %ymm1, %xmm0', xmm=ALL, ymm=ALL, fp='i'))
        F.append(Form(f'vextracti128 ${imm}, %ymm1, {MEM}', xmm=ALL, ymm=ALL, mem=256, fp='i'))
    for w in ('y', 'x'):
        F.append(Form(f'vpblendvb {r(w, 3)}, {r(w, 2)}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp='i'))
        F.append(Form(f'vpblendvb {r(w, 3)}, {MEM}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, mem=256, fp='i'))
        F.append(Form(f'vptest {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp='i'))
        F.append(Form(f'vptest {MEM}, {r(w, 0)}', xmm=ALL, ymm=ALL, mem=256, fp='i'))
        F.append(Form(f'vptest {r(w, 0)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp='i'))
        F.append(Form(f'vpmovmskb {r(w, 1)}, %eax', [('rax', 64)], xmm=ALL, ymm=ALL, fp='i'))
    for op, esz in (('vpmaskmovd', 4), ('vpmaskmovq', 8)):
        for w in ('y', 'x'):
            F.append(Form(f'{op} {MEM}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, mem=256, fp='i'))
            F.append(Form(f'{op} {r(w, 2)}, {r(w, 1)}, {MEM}', xmm=ALL, ymm=ALL, mem=256, fp='i'))

    # gathers: rax = isa_mem, indices picked to land in the window; now
    # and then one far index with its mask bit set (a fault part-way)
    def fix_gather(dsz, isz, scale, fault):
        def f(rng, st):
            st['gpr'][0] = MARK
            n = 32 // isz
            idx = []
            for _ in range(n):
                lim = (56 - dsz) // scale
                idx.append(rng.randrange(lim + 1))
            if fault and rng.random() < 0.7:
                idx[rng.randrange(n)] = 0x40000000 if isz == 4 else 1 << 44
            b = b''.join(v.to_bytes(isz, 'little') for v in idx)
            st['xmm'][1], st['ymmh'][1] = b[:16], b[16:]
            nm = 32 // dsz
            m = b''.join(((rng.getrandbits(1) << (8 * dsz - 1)) | rng.getrandbits(8)).to_bytes(dsz, 'little')
                         for _ in range(nm))
            st['xmm'][2], st['ymmh'][2] = m[:16], m[16:]
        return f
    for op, dsz, isz in (('vgatherdps', 4, 4), ('vgatherdpd', 8, 4), ('vgatherqps', 4, 8), ('vgatherqpd', 8, 8),
                         ('vpgatherdd', 4, 4), ('vpgatherdq', 8, 4), ('vpgatherqd', 4, 8), ('vpgatherqq', 8, 8)):
        for scale in (1, 4, 8):
            for w in ('y', 'x'):
                # the index/data register widths of each encoding
                if isz == 8 and dsz == 4:
                    iw, dw = w, 'x'
                elif isz == 4 and dsz == 8:
                    iw, dw = 'x', w
                else:
                    iw, dw = w, w
                for fault in (False, True):
                    F.append(Form(f'{op} {r(dw, 2)}, 8(%rax,{r(iw, 1)},{scale}), {r(dw, 0)}', xmm=ALL, ymm=ALL,
                                  mem=256, fp='i', fix=fix_gather(dsz, isz, scale, fault)))
    return F


def fma_forms(Form):
    F = []
    for base in ('vfmadd', 'vfmsub', 'vfnmadd', 'vfnmsub', 'vfmaddsub', 'vfmsubadd'):
        for order in ('132', '213', '231'):
            for k in ('ps', 'pd', 'ss', 'sd'):
                if k[0] == 's' and base in ('vfmaddsub', 'vfmsubadd'):
                    continue
                op = f'{base}{order}{k}'
                for w in (('y', 'x') if k[0] == 'p' else ('x',)):
                    F.append(Form(f'{op} {r(w, 2)}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp=k, mxcsr_vary=True))
                    F.append(Form(f'{op} {MEM}, {r(w, 1)}, {r(w, 0)}', xmm=ALL, ymm=ALL, mem=256, fp=k,
                                  mxcsr_vary=True))
                    F.append(Form(f'{op} {r(w, 0)}, {r(w, 0)}, {r(w, 0)}', xmm=ALL, ymm=ALL, fp=k, mxcsr_vary=True))
    for w in ('y', 'x'):
        F.append(Form(f'vcvtph2ps %xmm1, {r(w, 0)}', xmm=ALL, ymm=ALL, fp='i', mxcsr_vary=True))
        F.append(Form(f'vcvtph2ps {MEM}, {r(w, 0)}', xmm=ALL, ymm=ALL, mem=256, fp='i', mxcsr_vary=True))
        for imm in (0, 1, 2, 3, 4, 8):
            F.append(Form(f'vcvtps2ph ${imm}, {r(w, 1)}, %xmm0', xmm=ALL, ymm=ALL, fp='ps', mxcsr_vary=True))
            F.append(Form(f'vcvtps2ph ${imm}, {r(w, 1)}, {MEM}', xmm=ALL, ymm=ALL, mem=256, fp='ps',
                          mxcsr_vary=True))
    return F
