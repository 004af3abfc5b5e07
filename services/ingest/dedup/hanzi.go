package dedup

// hanConfusions are groups of Chinese characters that stand in for one
// another by a typo: sound-alikes a pinyin typist picks by mistake (the
// same syllable, and mostly the same tone) and look-alikes. Written for
// assay from common lists of 别字. Left out: pairs of opposite or other
// meaning that a question may turn on (买 and 卖, 为 and 未, 贷 and 货),
// units (分 and 份), and pairs that both often stand in given names (力
// and 利, 峰 and 锋, 代 and 戴), since a name that differs by one character
// is another person.
var hanConfusions = []string{
	// sound-alikes
	"的得地", "在再", "做作", "以已", "那哪", "他她它", "像象", "进近", "带代",
	"坐座", "题提", "到道", "是事", "期其", "意义", "须需", "部步", "元圆",
	"及级即", "工功", "机几", "和合", "练炼", "计记", "副付", "反返", "即既",
	"竟境", "检捡", "按安", "辩辨辫", "座做", "做坐", "帐账", "融溶", "布部",
	"查察", "型形", "决绝", "至致", "制治", "订定", "驶使", "暴爆", "密蜜",
	"历厉", "烦繁", "幅副", "绩迹", "遍变", "篮蓝", "栏拦", "付附", "复副",
	"预豫", "改该",
	// look-alikes
	"己已巳", "未末", "日曰", "土士", "戊戌戍", "拔拨", "裁栽载", "准淮",
	"刺剌", "折拆", "徒徙", "治冶", "崇祟", "辨辩", "壁璧", "候侯", "汩汨",
	"竞竟", "免兔", "鸟乌", "今令", "析折",
	"则侧",
}

// hanPairs maps each character of [hanConfusions] to the others of its
// groups.
var hanPairs = func() map[rune][]rune {
	m := map[rune][]rune{}
	for _, g := range hanConfusions {
		rs := []rune(g)
		for _, a := range rs {
			for _, b := range rs {
				if a != b {
					m[a] = append(m[a], b)
				}
			}
		}
	}
	return m
}()

// hanClasses maps each character of [hanConfusions] to the smallest
// character it is confused with, directly or through others: a typo
// leaves a character's class alone.
var hanClasses = func() map[rune]rune {
	m := map[rune]rune{}
	for changed := true; changed; {
		changed = false
		for _, g := range hanConfusions {
			low := rune(-1)
			for _, r := range g {
				c := r
				if k, ok := m[r]; ok {
					c = k
				}
				if low < 0 || c < low {
					low = c
				}
			}
			for _, r := range g {
				if k, ok := m[r]; !ok || k != low {
					m[r] = low
					changed = true
				}
			}
		}
	}
	return m
}()

func hanClass(r rune) rune {
	if c, ok := hanClasses[r]; ok {
		return c
	}
	return r
}

func confusable(a, b rune) bool {
	for _, c := range hanPairs[a] {
		if c == b {
			return true
		}
	}
	return false
}
