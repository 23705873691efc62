//! The FreTS layer's buffers: its parameter slice and its auxiliary buffer, each cut into named
//! regions (the layout [`Frets`]'s passes share).

use super::Frets;
use super::spectral::{FftWork, FrequencyWeights};
use crate::kernels::Real;
use crate::kernels::fft::as_complex;

/// A FreTS layer's parameter slice cut into its tensors.
pub(super) struct SplitParams<'a, T> {
    pub(super) emb: &'a [T],
    pub(super) channel: Option<FrequencyWeights<'a, T>>,
    pub(super) temporal: FrequencyWeights<'a, T>,
    pub(super) h1: &'a [T],
    pub(super) h2: &'a [T],
}

/// The auxiliary buffer cut into its named regions.
pub(super) struct Aux<'a, T: Real> {
    pub(super) c_xr: &'a mut [T],
    pub(super) c_xi: &'a mut [T],
    pub(super) c_yr: &'a mut [T],
    pub(super) c_yi: &'a mut [T],
    pub(super) t_xr: &'a mut [T],
    pub(super) t_xi: &'a mut [T],
    pub(super) t_yr: &'a mut [T],
    pub(super) t_yi: &'a mut [T],
    pub(super) head_in: &'a mut [T],
    pub(super) hidden: &'a mut [T],
    pub(super) g_r: &'a mut [T],
    pub(super) g_i: &'a mut [T],
    pub(super) t1: &'a mut [T],
    pub(super) t2: &'a mut [T],
    pub(super) d_hidden: &'a mut [T],
    pub(super) d_head_in: &'a mut [T],
    pub(super) fft: FftWork<'a, T>,
}

impl<'a, T: Real> Aux<'a, T> {
    pub(super) fn split(layer: &Frets, aux: &'a mut [T], batch: usize) -> Self {
        let sizes = layer.aux_sizes(batch);
        let mut rest = &mut aux[..sizes.iter().sum::<usize>()];
        let mut take = |n: usize| {
            let (a, b) = std::mem::take(&mut rest).split_at_mut(n);
            rest = b;
            a
        };
        let chan = sizes[0] / 4;
        let temp = sizes[1] / 4;
        let rows = batch * layer.channels;
        let head_in = rows * layer.head1.in_features;
        let hid = rows * layer.hidden;
        let grad = sizes[3] / 2;
        let tensor = sizes[4] / 2;
        let (c_xr, c_xi, c_yr, c_yi) = (take(chan), take(chan), take(chan), take(chan));
        let (t_xr, t_xi, t_yr, t_yi) = (take(temp), take(temp), take(temp), take(temp));
        let (head_in_buf, hidden) = (take(head_in), take(hid));
        let (g_r, g_i) = (take(grad), take(grad));
        let (t1, t2) = (take(tensor), take(tensor));
        let (d_hidden, d_head_in) = (take(hid), take(head_in));
        let real = take(sizes[6]);
        let complex = as_complex(take(sizes[7]));
        let (spec, scratch) = complex.split_at_mut(layer.window.max(layer.channels) / 2 + 1);
        Aux {
            c_xr,
            c_xi,
            c_yr,
            c_yi,
            t_xr,
            t_xi,
            t_yr,
            t_yi,
            head_in: head_in_buf,
            hidden,
            g_r,
            g_i,
            t1,
            t2,
            d_hidden,
            d_head_in,
            fft: FftWork {
                real,
                spec,
                scratch,
            },
        }
    }
}
