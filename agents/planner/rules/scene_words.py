"""The words stories use for places, times of day and weather, in several languages.

Each line is ``canonical: form | form | ...``. The canonical names are English keywords the sketch
renderer draws backgrounds from; forms are whole words (or phrases) in alphabetic scripts,
stems with a case ending in Russian, and substrings in Chinese and Japanese.
"""

from __future__ import annotations


def _table(text: str) -> dict[str, tuple[str, ...]]:
    """Parse the lines; a line starting with "|" continues the entry above it."""
    table: dict[str, tuple[str, ...]] = {}
    name = ""
    for line in text.strip().splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            forms = stripped
        else:
            name, _, forms = stripped.partition(":")
            name = name.strip()
        found = tuple(form.strip() for form in forms.split("|") if form.strip())
        table[name] = table.get(name, ()) + found
    return table


SETTINGS = _table(
    """
living room: living room | lounge | sitting room
kitchen: kitchen | cuisine | cocina | küche | cucina | cozinha | кухн | 厨房 | 台所
bedroom: bedroom | bed | chambre | dormitorio | schlafzimmer | спальн | 卧室 | 寝室
bathroom: bathroom
classroom: classroom | класс | 教室
library: library | bibliothèque | biblioteca | библиотек | 图书馆 | 図書館
space station: space station
train station: train station | railway station | platform | gare | вокзал | 车站 | 駅
space: outer space | in space | into space | spaceship | spacecraft | космос | 太空
castle: castle | palace | throne room | tower | château | castillo | schloss | castello | замок
    | 城堡
shop: shop | store | bakery | cafe | café | restaurant | boulangerie | tienda | магазин | 商店
    | 面包店 | 店
market: market | bazaar | marché | mercado | markt | рынок | 市场 | 市場
school: school | schoolyard | école | escuela | schule | scuola | escola | школ | 学校
hospital: hospital | hôpital | krankenhaus | больниц | 医院 | 病院
office: office | bureau | oficina | büro
house: house | cottage | cabin | apartment | hut | maison | haus
home: home | casa | hause | дома | домой | 家里 | 回家 | 在家 | 家に帰 | 家に | 家で
garden: garden | backyard | yard | jardin | jardín | garten | giardino | сад | 花园 | 庭園
park: park | playground | parc | parque | parco | парк | 公园 | 公園
forest: forest | woods | jungle | forêt | bosque | wald | foresta | floresta | лес | 森林
    | 树林 | 森の中
beach: beach | shore | seaside | coast | plage | playa | spiaggia | praia | пляж | 海滩
    | 海边 | 浜辺
sea: sea | ocean | mer | meer | море | 大海
lake: lake | pond | lac | lago | see | озер | 湖
river: river | stream | bridge | rivière | río | fluss | fiume | рек | 河边 | 川辺
mountain: mountain | mountains | hill | hills | cliff | montagne | montaña | berg | montagna
    | 山上 | 山顶
meadow: meadow | meadows | field | fields | prairie | pradera | wiese | луг | 草地
farm: farm | barn | ferme | granja | bauernhof | ферм | 农场
desert: desert | désert | desierto | wüste | пустын | 沙漠 | 砂漠
cave: cave | grotte | cueva | höhle | пещер | 山洞 | 洞窟
city: city | downtown | ville | ciudad | stadt | città | cidade | город | 城市 | 都市
village: village | town | pueblo | dorf | деревн | 村
street: street | road | sidewalk | alley | avenue | rue | calle | straße | strasse | rua | улиц
    | 街道 | 马路 | 街
rooftop: rooftop | roof | toit | крыш | 屋顶 | 屋上
"""
)
"""Canonical setting -> the words a story uses for it."""

TIMES = _table(
    """
dawn: dawn | sunrise | daybreak | aube | amanecer | рассвет | 黎明 | 清晨 | 夜明け
morning: morning | breakfast | matin | mañana | morgen | mattina | утр | 早上 | 上午 | 早晨 | 朝
noon: noon | midday | lunchtime | midi | mediodía | mittag | полдень | 中午 | 昼
afternoon: afternoon | après-midi | nachmittag | pomeriggio | 下午 | 午後
evening: evening | soir | soirée | abend | sera | вечер | 傍晚 | 晚上 | 夕方
sunset: sunset | sundown | coucher du soleil | закат | 日落 | 夕日
dusk: dusk | twilight | crépuscule | сумерк | 黄昏
night: night | tonight | nighttime | moonlight | moonlit | nuit | noche | nacht | notte | noite
    | ноч | 夜里 | 夜晚 | 夜
midnight: midnight | minuit | medianoche | mitternacht | полноч | 午夜 | 真夜中
day: one day | next day | that day | daytime | daylight | днём | днем | 白天
"""
)

WEATHER = _table(
    """
storm: storm | stormy | thunder | thunderstorm | lightning | orage | tormenta | gewitter
    | tempesta | гроз | бур | 暴风雨 | 雷 | 嵐
rain: rain | rains | raining | rainy | rained | drizzle | downpour | raindrops | pluie | lluvia
    | regen | pioggia | chuva | дожд | 雨
snow: snow | snowing | snowy | snowflakes | blizzard | snowfall | neige | nieve | schnee | neve
    | снег | снеж | 雪
fog: fog | foggy | mist | misty | haze | brouillard | niebla | nebel | nebbia | туман | 雾 | 霧
sunny: sunny | sunshine | sunlit | sunlight | soleil | солнечн | 晴 | 阳光
windy: windy | gale | ветрен | 大风
"""
)

ROUTES = frozenset({"回家", "домой", "家に帰"})
"""Words that already say "on the way there" ("回家": going home)."""

INDOORS = frozenset(
    {
        "living room",
        "kitchen",
        "bedroom",
        "bathroom",
        "classroom",
        "library",
        "space station",
        "castle",
        "shop",
        "school",
        "hospital",
        "office",
        "house",
        "home",
        "cave",
        "train station",
    }
)

ROOMS = frozenset(
    {
        "living room",
        "kitchen",
        "bedroom",
        "bathroom",
        "classroom",
        "library",
        "rooftop",
        "space station",
    }
)
"""When a beat names a room and its building ("in the kitchen at home"), the room wins."""
