"""An independent transcription of the Ma et al. 2017 release's feature code (MATLAB),
written for the tests: numpy with loops, one MATLAB statement at a time, nothing shared
with srdistill.metrics.ma_metric. Files transcribed (github.com/chaoma99/sr-metric): feature_all.m,
block_dct.m, gama_dct.m, gama_gen_gauss.m, coeff_var_dct.m, coeff_var_gen_gauss.m,
oriented{1,2,3}_dct_rho_config3.m, global_gsm.m, norm_sender_normalized.m,
ssim_index_new.m, and matlabPyrTools' buildSFpyr.m, buildSFpyrLevs.m, rcosFn.m, pointOp.c
and shift.m; MATLAB built-ins (fspecial, imfilter, filter2, imresize, blkproc, im2col,
dct2) are written out from their documented algorithms. Indices are 1-based in comments.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.fft import dctn
from scipy.special import gamma

EPS = np.finfo(np.float64).eps

# --- MATLAB built-ins -------------------------------------------------------------------


def fspecial_gaussian(n: int, sigma: float) -> np.ndarray:
    half = (n - 1) / 2
    x, y = np.meshgrid(np.arange(-half, half + 1), np.arange(-half, half + 1))
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < EPS * h.max()] = 0
    return h / h.sum()


def imfilter_same_zero(im: np.ndarray, h: np.ndarray) -> np.ndarray:
    """imfilter(im, h): correlation, zero boundary, output the size of im."""
    m, n = h.shape
    cy, cx = (m + 1) // 2 - 1, (n + 1) // 2 - 1  # the kernel's centre, 0-based
    rows, cols = im.shape
    padded = np.zeros((rows + m - 1, cols + n - 1))
    padded[cy : cy + rows, cx : cx + cols] = im
    out = np.zeros_like(im, dtype=np.float64)
    for a in range(m):
        for b in range(n):
            out += h[a, b] * padded[a : a + rows, b : b + cols]
    return out


def filter2_valid(w: np.ndarray, img: np.ndarray) -> np.ndarray:
    m, n = w.shape
    rows, cols = img.shape[0] - m + 1, img.shape[1] - n + 1
    out = np.zeros((rows, cols))
    for a in range(m):
        for b in range(n):
            out += w[a, b] * img[a : a + rows, b : b + cols]
    return out


def _cubic(x: np.ndarray) -> np.ndarray:
    absx = np.abs(x)
    absx2, absx3 = absx**2, absx**3
    return (1.5 * absx3 - 2.5 * absx2 + 1) * (absx <= 1) + (
        -0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2
    ) * ((1 < absx) & (absx <= 2))


def _contributions(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    kernel_width = 4.0
    if scale < 1:  # antialiasing
        kernel_width = kernel_width / scale

        def h(x: np.ndarray) -> np.ndarray:
            return scale * _cubic(scale * x)
    else:
        h = _cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    p = math.ceil(kernel_width) + 2
    ind = left[:, None] + np.arange(p)[None, :]
    weights = h(u[:, None] - ind)
    weights = weights / weights.sum(axis=1, keepdims=True)
    aux = np.concatenate([np.arange(1, in_len + 1), np.arange(in_len, 0, -1)])
    ind = aux[np.mod(ind - 1, aux.size).astype(int)]
    return weights, ind


def imresize(a: np.ndarray, scale: float | None = None, size: tuple | None = None) -> np.ndarray:
    """imresize(A, scale) or imresize(A, [rows cols]), bicubic with antialiasing."""
    if size is None:
        assert scale is not None
        scales = [scale, scale]
        size = (math.ceil(scale * a.shape[0]), math.ceil(scale * a.shape[1]))
    else:
        scales = [size[0] / a.shape[0], size[1] / a.shape[1]]
    out = a.astype(np.float64)
    for dim in np.argsort(scales, kind="stable"):  # smallest scale first
        weights, ind = _contributions(out.shape[dim], size[dim], scales[dim])
        moved = np.moveaxis(out, dim, 0)
        res = np.zeros((size[dim], *moved.shape[1:]))
        for k in range(size[dim]):
            for q in range(weights.shape[1]):
                res[k] += weights[k, q] * moved[ind[k, q] - 1]
        out = np.moveaxis(res, 0, dim)
    return out


def blkproc(im: np.ndarray, block: int, border: int, fun) -> np.ndarray:  # noqa: ANN001
    ma, na = im.shape
    mpad, npad = (block - ma % block) % block, (block - na % block) % block
    aa = np.zeros((ma + mpad + 2 * border, na + npad + 2 * border))
    aa[border : border + ma, border : border + na] = im
    mblocks, nblocks = (ma + mpad) // block, (na + npad) // block
    out = np.zeros((mblocks, nblocks))
    for i in range(mblocks):
        for j in range(nblocks):
            x = aa[
                i * block : i * block + block + 2 * border,
                j * block : j * block + block + 2 * border,
            ]
            out[i, j] = fun(x)
    return out


def im2col_distinct(im: np.ndarray, size: int) -> np.ndarray:
    ma, na = im.shape
    mpad, npad = (size - ma % size) % size, (size - na % size) % size
    aa = np.zeros((ma + mpad, na + npad))
    aa[:ma, :na] = im
    cols = []
    for j in range(aa.shape[1] // size):  # blocks in column-major order
        for i in range(aa.shape[0] // size):
            cols.append(aa[i * size : (i + 1) * size, j * size : (j + 1) * size].flatten("F"))
    return np.stack(cols, axis=1)


def dct2(x: np.ndarray) -> np.ndarray:
    return dctn(x, type=2, norm="ortho")


def mvar(x: np.ndarray) -> float:
    return float(np.var(x, ddof=1))


def mstd(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1))


# --- block DCT features (block_dct.m and the functions it applies per block) -------------


def gama_gen_gauss(i: np.ndarray) -> float:
    v = i.flatten("F")
    mean_gauss = v.mean()
    var_gauss = mvar(v)
    mean_abs = np.mean(np.abs(v - mean_gauss)) ** 2
    rho = var_gauss / (mean_abs + 0.0000001)
    g = 0.03 + 0.001 * np.arange(9971)
    r = gamma(1.0 / g) * gamma(3.0 / g) / (gamma(2.0 / g) ** 2)
    idx = int(np.argmin(np.abs(r - rho)))
    return float(g[idx])


def gama_dct(i: np.ndarray) -> float:
    temp2 = dct2(i).flatten("F")
    return gama_gen_gauss(temp2[1:])


def coeff_var_gen_gauss(i: np.ndarray) -> float:
    v = np.abs(i.flatten("F"))
    return mstd(v) / (v.mean() + 0.0000001)


def coeff_var_dct(i: np.ndarray) -> float:
    temp2 = dct2(i).flatten("F")
    return coeff_var_gen_gauss(temp2[1:])


def _rho(values: list[np.ndarray]) -> float:
    t = np.abs(np.concatenate([np.ravel(v) for v in values]))
    return mstd(t) / (t.mean() + 0.00000001)


def oriented1(i: np.ndarray) -> float:  # nn == 7
    t = dct2(i)
    return _rho([t[0, 1:], t[1, 2:], t[2, 4:], t[3, 5:]])


def oriented2(i: np.ndarray) -> float:
    t = dct2(i)
    return _rho([t[1, 1:2], t[2, 2:4], t[3, 2:5], t[4, 3:], t[5, 4:], t[6, 4:]])


def oriented3(i: np.ndarray) -> float:
    t = dct2(i)
    return _rho([t[1:, 0], t[2:, 1], t[4:, 2], t[5:, 3]])


def block_dct(im: np.ndarray) -> list[float]:
    gama = np.sort(blkproc(im, 3, 2, gama_dct).flatten("F"))
    n = gama.size
    feature = [gama[: math.ceil(n * 0.1)].mean(), gama.mean()]
    cv = np.sort(blkproc(im, 3, 2, coeff_var_dct).flatten("F"))
    n = cv.size
    feature += [cv[math.trunc(n * 0.9) - 1 :].mean(), cv.mean()]
    o1 = blkproc(im, 3, 2, oriented1)
    o2 = blkproc(im, 3, 2, oriented2)
    o3 = blkproc(im, 3, 2, oriented3)
    var_temp = np.zeros(o1.shape)
    for i in range(o1.shape[0]):
        for j in range(o1.shape[1]):
            var_temp[i, j] = mvar(np.array([o1[i, j], o2[i, j], o3[i, j]]))
    ori = np.sort(var_temp.flatten("F"))
    n = ori.size
    feature += [ori[math.trunc(n * 0.9) - 1 :].mean(), ori.mean()]
    return feature


# --- the steerable pyramid (matlabPyrTools) ---------------------------------------------


def rcos_fn(width: float, position: float) -> tuple[np.ndarray, np.ndarray]:
    sz = 256
    x = np.pi * np.arange(-sz - 1, 2) / (2 * sz)
    y = 0 + (1 - 0) * np.cos(x) ** 2
    y[0] = y[1]
    y[sz + 2] = y[sz + 1]
    x = position + (2 * width / np.pi) * (x + np.pi / 4)
    return x, y


def point_op(im: np.ndarray, lut: np.ndarray, origin: float, increment: float) -> np.ndarray:
    """pointOp.c's internal_pointop."""
    lutsize = lut.size - 2
    pos = (im - origin) / increment
    index = np.trunc(pos).astype(np.int64)
    index = np.where(index < 0, 0, np.where(index > lutsize, lutsize, index))
    return lut[index] + (lut[index + 1] - lut[index]) * (pos - index)


def build_sf_pyr(im: np.ndarray, ht: int, order: int) -> list[np.ndarray]:
    """[hi0, bands of level 1 (nbands), ..., bands of level ht, lowpass]."""
    nbands = order + 1
    twidth = 1
    dims = im.shape
    ctr = [math.ceil((d + 0.5) / 2) for d in dims]
    xramp, yramp = np.meshgrid(
        (np.arange(1, dims[1] + 1) - ctr[1]) / (dims[1] / 2),
        (np.arange(1, dims[0] + 1) - ctr[0]) / (dims[0] / 2),
    )
    angle = np.arctan2(yramp, xramp)
    log_rad = np.sqrt(xramp**2 + yramp**2)
    log_rad[ctr[0] - 1, ctr[1] - 1] = log_rad[ctr[0] - 1, ctr[1] - 2]
    log_rad = np.log2(log_rad)
    xrcos, yrcos = rcos_fn(twidth, -twidth / 2)
    yrcos = np.sqrt(yrcos)
    yircos = np.sqrt(1.0 - yrcos**2)
    lo0mask = point_op(log_rad, yircos, xrcos[0], xrcos[1] - xrcos[0])
    imdft = np.fft.fftshift(np.fft.fft2(im))
    lo0dft = imdft * lo0mask
    levels = _build_sf_pyr_levs(lo0dft, log_rad, xrcos, yrcos, angle, ht, nbands)
    hi0mask = point_op(log_rad, yrcos, xrcos[0], xrcos[1] - xrcos[0])
    hi0 = np.fft.ifft2(np.fft.ifftshift(imdft * hi0mask))
    return [np.real(hi0), *levels]


def _build_sf_pyr_levs(lodft, log_rad, xrcos, yrcos, angle, ht, nbands):  # noqa: ANN001, ANN202
    if ht <= 0:
        return [np.real(np.fft.ifft2(np.fft.ifftshift(lodft)))]
    xrcos = xrcos - np.log2(2)
    lutsize = 1024
    xcosn = np.pi * np.arange(-(2 * lutsize + 1), lutsize + 2) / lutsize
    order = nbands - 1
    const = (2 ** (2 * order)) * (math.factorial(order) ** 2) / (nbands * math.factorial(2 * order))
    ycosn = np.sqrt(const) * np.cos(xcosn) ** order
    himask = point_op(log_rad, yrcos, xrcos[0], xrcos[1] - xrcos[0])
    bands = []
    for b in range(1, nbands + 1):
        anglemask = point_op(angle, ycosn, xcosn[0] + np.pi * (b - 1) / nbands, xcosn[1] - xcosn[0])
        banddft = ((-1j) ** order) * lodft * anglemask * himask
        bands.append(np.real(np.fft.ifft2(np.fft.ifftshift(banddft))))
    dims = lodft.shape
    ctr = [math.ceil((d + 0.5) / 2) for d in dims]
    lodims = [math.ceil((d - 0.5) / 2) for d in dims]
    loctr = [math.ceil((d + 0.5) / 2) for d in lodims]
    lostart = [c - lc + 1 for c, lc in zip(ctr, loctr, strict=True)]
    loend = [s + d - 1 for s, d in zip(lostart, lodims, strict=True)]
    sl = (slice(lostart[0] - 1, loend[0]), slice(lostart[1] - 1, loend[1]))
    log_rad, angle, lodft = log_rad[sl], angle[sl], lodft[sl]
    yircos = np.abs(np.sqrt(1.0 - yrcos**2))
    lomask = point_op(log_rad, yircos, xrcos[0], xrcos[1] - xrcos[0])
    lodft = lomask * lodft
    return bands + _build_sf_pyr_levs(lodft, log_rad, xrcos, yrcos, angle, ht - 1, nbands)


def shift(mtx: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    dims = mtx.shape
    o1, o2 = (-offset[0]) % dims[0], (-offset[1]) % dims[1]
    top = np.concatenate([mtx[o1:, o2:], mtx[o1:, :o2]], axis=1)
    bottom = np.concatenate([mtx[:o1, o2:], mtx[:o1, :o2]], axis=1)
    return np.concatenate([top, bottom], axis=0)


def pinv(a: np.ndarray) -> np.ndarray:
    """MATLAB pinv: singular values above max(size) * norm(A) * eps are kept."""
    u, s, vt = np.linalg.svd(a)
    tol = max(a.shape) * s[0] * EPS
    keep = s > tol
    return (vt[keep].T / s[keep]) @ u[:, keep].T


def norm_sender_normalized(pyr: list[np.ndarray], nsc: int, nor: int) -> tuple[list, list]:
    """With parent = neighbor = 1 and 3x3 blocks, as global_gsm.m calls it."""
    guardband = 16
    nband_total = len(pyr) - 1  # size(pind, 1) - 1
    subband, size_band = [], []
    for scale in range(1, nsc + 1):
        for orien in range(1, nor + 1):
            nband = (scale - 1) * nor + orien + 1
            aux = pyr[nband - 1]
            nsy, nsx = aux.shape
            prnt = nband < nband_total - nor
            layers = [aux]
            if prnt:
                auxp = np.real(imresize(pyr[nband + nor - 1], 2))
                layers.append(auxp[:nsy, :nsx])
            nv, nh = aux.shape
            nblv, nblh = nv - 3 + 1, nh - 3 + 1
            nexp = nblv * nblh
            n_count = 9 + int(prnt)
            ly = lx = 1
            columns = []
            for ny in range(-ly, ly + 1):
                for nx in range(-lx, lx + 1):
                    foo = shift(layers[0], (ny, nx))
                    foo = foo[ly : ly + nblv, lx : lx + nblh]
                    columns.append(foo.flatten("F"))
            if prnt:
                columns.append(layers[1][ly : ly + nblv, lx : lx + nblh].flatten("F"))
            for neib in range(1, nor + 1):
                if neib == orien:
                    continue
                aux1 = pyr[(scale - 1) * nor + neib + 1 - 1]
                columns.append(aux1[ly : ly + nblv, lx : lx + nblh].flatten("F"))
            y = np.stack(columns, axis=1)
            c_x = y.T @ y / nexp
            ev, q = np.linalg.eigh(c_x)
            pos = ev * (ev > 0)
            ev = pos * ev.sum() / (pos.sum() + (pos.sum() == 0))
            c_x = q @ np.diag(ev) @ q.T
            o_c = aux[ly : ly + nblv, lx : lx + nblh].flatten("F")
            o_c = o_c - o_c.mean()
            temp_y = (y @ pinv(c_x)) * y / n_count
            z = np.sqrt(temp_y.sum(axis=1))
            ind = z != 0
            assert ind.all(), "MATLAB's reshape would fail here"
            g_c = (o_c[ind] / z[ind]).reshape((nblv, nblh), order="F")
            gb = guardband // 2 ** (scale - 1)
            g_c = g_c[gb:-gb, gb:-gb]
            size_band.append(g_c.shape)
            g_c = g_c.flatten("F")
            subband.append(g_c - g_c.mean())
    return subband, size_band


def ssim_index_new_mcs(img1: np.ndarray, img2: np.ndarray) -> float:
    """Third output of ssim_index_new(img1, img2) with its default window and K."""
    wind = fspecial_gaussian(11, 1.5)
    k = (0.01, 0.03)
    c2 = (k[1] * 255) ** 2
    wind = wind / wind.sum()
    mu1 = filter2_valid(wind, img1)
    mu2 = filter2_valid(wind, img2)
    sigma1_sq = filter2_valid(wind, img1 * img1) - mu1 * mu1
    sigma2_sq = filter2_valid(wind, img2 * img2) - mu2 * mu2
    sigma12 = filter2_valid(wind, img1 * img2) - mu1 * mu2
    cs_map = (2 * sigma12 + c2) / (sigma1_sq + sigma2_sq + c2)
    return float(cs_map.mean())


def global_gsm(img: np.ndarray) -> list[float]:
    im = img.astype(np.float64)
    num_or, num_scales = 6, 2
    pyr = build_sf_pyr(im, num_scales, num_or - 1)
    subband, size_band = norm_sender_normalized(pyr, num_scales, num_or)
    f = [gama_gen_gauss(t) for t in subband]
    f += [gama_gen_gauss(np.concatenate([subband[i], subband[i + num_or]])) for i in range(num_or)]
    hp_band = pyr[0]
    for ii in range(1, len(subband) + 1):
        curr_band = pyr[ii]
        f.append(ssim_index_new_mcs(imresize(curr_band, size=hp_band.shape), hp_band))
    for i in range(num_or):
        for j in range(i + 1, num_or):
            a = subband[i].reshape(size_band[i], order="F")
            b = subband[j].reshape(size_band[j], order="F")
            f.append(ssim_index_new_mcs(a, b))
    return f


def feature_all(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(f1, f2, f3) of a grey uint8-valued image (values 0..255)."""
    im1 = img.astype(np.float64) / 255  # im2double
    h = fspecial_gaussian(3, 0.5)
    im2 = imfilter_same_zero(im1, h)[1::2, 1::2]
    im3 = imfilter_same_zero(im2, h)[1::2, 1::2]
    f1 = np.array(block_dct(im1) + block_dct(im2) + block_dct(im3))
    f2 = np.array(global_gsm(img))
    f3 = np.concatenate(
        [np.linalg.svd(im2col_distinct(x, 5), compute_uv=False) for x in (im1, im2, im3)]
    )
    return f1, f2, f3
