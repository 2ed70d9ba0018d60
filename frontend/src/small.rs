//! Sorting for short lists and "the best k" of a long one. The standard
//! library's sorts are fast but each use adds a few kilobytes of wasm;
//! the lists here are short (releases) or only their best few are shown
//! (search results).

/// Insertion sort by `key`; stable.
pub fn sort_small<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && key(&v[j - 1]) > key(&v[j]) {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// The `k` items with the smallest `key`, in order (ties keep their
/// order), in one pass over `items`.
pub fn smallest<T, K: Ord>(items: impl Iterator<Item = T>, k: usize, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut best: Vec<(K, T)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return Vec::new();
    }
    for item in items {
        let item_key = key(&item);
        if best.len() == k && best.last().is_some_and(|(last, _)| item_key >= *last) {
            continue;
        }
        let at = best.partition_point(|(other, _)| *other <= item_key);
        best.insert(at, (item_key, item));
        best.truncate(k);
    }
    best.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_standard_library() {
        let mut a = vec![5, 3, 9, 1, 3, 7, 0, 2];
        let mut b = a.clone();
        sort_small(&mut a, |x| *x);
        b.sort();
        assert_eq!(a, b);
        // Stable: equal keys keep their order.
        let mut pairs = vec![(1, 'a'), (0, 'b'), (1, 'c'), (0, 'd')];
        sort_small(&mut pairs, |p| p.0);
        assert_eq!(pairs, [(0, 'b'), (0, 'd'), (1, 'a'), (1, 'c')]);
        let mut empty: Vec<u8> = vec![];
        sort_small(&mut empty, |x| *x);
    }

    #[test]
    fn best_k() {
        let items = [8, 3, 5, 1, 9, 1, 4];
        assert_eq!(smallest(items.iter().copied(), 3, |x| *x), [1, 1, 3]);
        assert_eq!(smallest(items.iter().copied(), 0, |x| *x), Vec::<i32>::new());
        assert_eq!(smallest(items.iter().copied(), 20, |x| *x), [1, 1, 3, 4, 5, 8, 9]);
        let tagged = [(2, 'x'), (1, 'y'), (2, 'z'), (1, 'w')];
        assert_eq!(smallest(tagged.iter().copied(), 3, |t| t.0), [(1, 'y'), (1, 'w'), (2, 'x')]);
    }
}
